// Soak test of a running sluice (bench/soak.sh starts one): `--streams` concurrent SSE chat
// streams for `--seconds`, each request on a keep-alive connection or a new one at random,
// a share of them cancelled on purpose mid-stream. Reports outcomes (any error that was not
// caused on purpose is a failure), time to first token and total latency percentiles, the
// server's RSS over time (flat within 5% after warm-up?), and whether every KV block is back
// at the end. Exit status 1 when an unplanned error occurred, RSS grew, or blocks leaked.
// Prints numbers; not a test.
//
//   node bench/soak.mjs --port PORT --pid SERVER_PID [--seconds 600] [--streams 64] [--cancel 0.1]
import http from 'node:http';
import fs from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const port = Number(args.port), pid = Number(args.pid);
const seconds = Number(args.seconds ?? 600), streams = Number(args.streams ?? 64), cancelShare = Number(args.cancel ?? 0.1);
if (!port || !pid) {
  console.error('usage: node bench/soak.mjs --port PORT --pid SERVER_PID [--seconds 600] [--streams 64] [--cancel 0.1]');
  process.exit(2);
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: streams });
let seed = 11;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const words = ['river', 'sluice', 'gate', 'water', 'level', 'boat', 'lock', 'canal', 'stone', 'mill'];
const counts = { ok: 0, cancelled: 0, errors: 0 };
const errors = new Map();
const ttfts = [], totals = [];

function get(path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
const metric = (body, name) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(body)?.[1]);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const fail = (why) => {
  counts.errors++;
  errors.set(why, (errors.get(why) ?? 0) + 1);
};

// One streamed request; resolves when it ended (for any reason).
function one() {
  return new Promise((resolve) => {
    const prompt = Array.from({ length: 5 + Math.floor(rand() * 60) }, () => words[Math.floor(rand() * words.length)]).join(' ');
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: prompt }], max_tokens: 16 + Math.floor(rand() * 48),
                                  temperature: 0.8, seed: Math.floor(rand() * 1e6), stream: true });
    const cancelAfter = rand() < cancelShare ? 1 + Math.floor(rand() * 8) : -1;
    const t0 = performance.now();
    let ttft = null, frames = 0, text = '', settled = false;
    const done = (outcome) => {
      if (settled) return;
      settled = true;
      if (outcome === 'ok') {
        counts.ok++;
        ttfts.push(ttft ?? performance.now() - t0);
        totals.push(performance.now() - t0);
      } else if (outcome === 'cancelled') {
        counts.cancelled++;
      } else {
        fail(outcome);
      }
      resolve(outcome);
    };
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent: rand() < 0.5 ? keepAlive : false,
                               headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return done(`HTTP ${res.statusCode}`);
      }
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
        if (ttft === null && /"delta":\{"content":"[^"]/.test(text)) ttft = performance.now() - t0;  // the first text, not the head
        frames += (c.match(/\n\n/g) ?? []).length;
        if (cancelAfter > 0 && frames >= cancelAfter) {
          req.destroy();
          done('cancelled');
        }
      });
      res.on('end', () => done(text.endsWith('data: [DONE]\n\n') && /"finish_reason":"(stop|length)"/.test(text) ? 'ok' : 'stream ended without [DONE]'));
      res.on('error', (e) => done(`response: ${e.code ?? e.message}`));
    });
    req.on('error', (e) => done(`request: ${e.code ?? e.message}`));
    req.end(body);
  });
}

const pct = (a, p) => {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const started = performance.now(), deadline = started + seconds * 1000, warmup = started + Math.min(60, seconds / 5) * 1000;
const samples = [];
const sampler = setInterval(() => samples.push({ t: (performance.now() - started) / 1000, rss: rss() }), 5000);
// A stream whose request failed waits a second before the next, as the SDKs back off, so
// one failure mode cannot turn into a loop of thousands.
await Promise.all(Array.from({ length: streams }, async () => {
  while (performance.now() < deadline) {
    const outcome = await one();
    if (outcome !== 'ok' && outcome !== 'cancelled') await new Promise((r) => setTimeout(r, 1000));
  }
}));
clearInterval(sampler);
keepAlive.destroy();
await new Promise((r) => setTimeout(r, 1000));  // cancelled jobs are reaped at the next step
const m = await get('/metrics');
const after = samples.filter((s) => s.t * 1000 >= warmup - started).map((s) => s.rss);
const lo = Math.min(...after), hi = Math.max(...after);
const used = metric(m, 'sluice_kv_blocks_used'), running = metric(m, 'sluice_sequences_running'), queued = metric(m, 'sluice_sequences_queued');
console.log(`${seconds} s, ${streams} streams: ${counts.ok} completed, ${counts.cancelled} cancelled on purpose, ${counts.errors} errors`);
for (const [why, n] of errors) console.log(`  error: ${why} x${n}`);
console.log(`time to first token ms: p50 ${pct(ttfts, 50).toFixed(0)}, p99 ${pct(ttfts, 99).toFixed(0)}; ` +
            `request ms: p50 ${pct(totals, 50).toFixed(0)}, p99 ${pct(totals, 99).toFixed(0)}`);
console.log(`RSS after warm-up: ${(lo / 2 ** 20).toFixed(1)}-${(hi / 2 ** 20).toFixed(1)} MiB over ${after.length} samples ` +
            `(${((hi / lo - 1) * 100).toFixed(1)}% spread); first sample ${(samples[0]?.rss / 2 ** 20).toFixed(1)} MiB`);
console.log(`at the end: ${running} running, ${queued} queued, ${used} KV blocks held (cached blocks are the prefix cache's)`);
const bad = counts.errors > 0 || hi > lo * 1.05 || used !== 0 || running !== 0;
process.exit(bad ? 1 : 0);
