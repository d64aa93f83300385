// Fault injection against a running sluice (bench/faults.sh starts it): clients that vanish
// mid-header, mid-body and mid-stream and plain connection resets (10,000 in all by
// default), then checks that the server still answers, holds no sequence, KV block or file
// descriptor of theirs; with `--full-disk`, fills the Responses store's tmpfs and reports
// what stored requests get then, and that the rest keeps working. Prints the observed
// behaviour; exit 1 when the server did not come through intact. Not a test.
//
//   node bench/faults.mjs --port PORT --pid SERVER_PID [--resets 10000] [--full-disk]
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const port = Number(opt('port')), pid = Number(opt('pid')), resets = Number(opt('resets', 10000));
if (!port || !pid) {
  console.error('usage: node bench/faults.mjs --port PORT --pid SERVER_PID [--resets 10000] [--full-disk]');
  process.exit(2);
}
const fds = () => fs.readdirSync(`/proc/${pid}/fd`).length;
function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const metric = (body, name) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(body)?.[1]);

// One connection that sends `payload` (and waits for a first response byte when `waitData`),
// then resets it (RST, not FIN).
function vanish(payload, waitData) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.on('connect', () => {
      if (payload) s.write(payload);
      if (waitData) s.once('data', () => s.resetAndDestroy());
      else setImmediate(() => s.resetAndDestroy());
    });
  });
}
const chat = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 200, stream: true });
const kinds = [
  ['reset right after connect', () => vanish(null, false)],
  ['vanish mid-header', () => vanish('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Typ', false)],
  ['vanish mid-body', () => vanish(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${chat.length}\r\n\r\n${chat.slice(0, 40)}`, false)],
  ['vanish mid-stream', () => vanish(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${chat.length}\r\n\r\n${chat}`, true)],
];

let ok = true;
const check = (cond, what) => {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  ok &&= cond;
};
const before = fds();
const t0 = performance.now();
for (const [name, fn] of kinds) {
  const n = Math.floor(resets / kinds.length);
  const t = performance.now();
  for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, fn));
  console.log(`${name}: ${n} connections in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
console.log(`${resets} resets in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
await new Promise((r) => setTimeout(r, 2000));
const health = await request('GET', '/health');
check(health.status === 200, `/health after the resets: ${health.status}`);
const m = (await request('GET', '/metrics')).body;
check(metric(m, 'sluice_sequences_running') === 0 && metric(m, 'sluice_kv_blocks_used') === 0,
      `no sequence or KV block left: running ${metric(m, 'sluice_sequences_running')}, blocks used ${metric(m, 'sluice_kv_blocks_used')}`);
const after = fds();
check(after <= before + 2, `file descriptors: ${before} before, ${after} after`);
const normal = await request('POST', '/v1/chat/completions', JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }));
check(normal.status === 200, `a normal request afterwards: ${normal.status}`);

if (args.includes('--full-disk')) {
  // Stored responses until the store's file system is full.
  const ids = [];
  let failure = null;
  const filler = 'The sluice gate holds the river back. '.repeat(20);
  for (let i = 0; i < 5000 && !failure; i++) {
    const r = await request('POST', '/v1/responses', JSON.stringify({ model: 'm', input: `${filler} ${i}`, max_output_tokens: 2, store: true }));
    if (r.status === 200 && JSON.parse(r.body).store === true) ids.push(JSON.parse(r.body).id);
    else failure = r;
  }
  check(failure !== null, `the store filled up after ${ids.length} stored responses`);
  if (failure) {
    console.log(`     a stored request then gets ${failure.status}: ${failure.body.slice(0, 200)}`);
    const answered = failure.status === 200 ? JSON.parse(failure.body) : null;
    check(answered?.store === false && answered.output.length > 0, 'its answer is delivered, marked store: false');
    if (answered) {
      const lost = await request('GET', `/v1/responses/${answered.id}`);
      check(lost.status === 404, `the unkept id is 404, not a stale answer: ${lost.status}`);
    }
  }
  const unstored = await request('POST', '/v1/responses', JSON.stringify({ model: 'm', input: 'Hi', max_output_tokens: 2, store: false }));
  check(unstored.status === 200, `store: false still works: ${unstored.status}`);
  const chatAgain = await request('POST', '/v1/chat/completions', JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }));
  check(chatAgain.status === 200, `chat completions still work: ${chatAgain.status}`);
  if (ids.length > 0) {
    const old = await request('GET', `/v1/responses/${ids[0]}`);
    check(old.status === 200, `an earlier stored response is still readable: ${old.status}`);
  }
  check((await request('GET', '/health')).status === 200, '/health with a full disk');
}
process.exit(ok ? 0 : 1);
