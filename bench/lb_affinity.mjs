// What prefix-affinity routing buys: the same multi-turn conversations through HAProxy
// (deploy/haproxy/haproxy.cfg) over three sluice replicas, once with X-Session-Id (each
// conversation hashed to one replica) and once without (no session and no key: HAProxy
// falls back to round-robin). Prints prompt tokens, cached tokens and request latency per mode.
//
//   cd tests/integration/node && SLUICE_BINARY=../../../build/sluice SLUICE_SHARED=../../../../shared \
//     node ../../../bench/lb_affinity.mjs [conversations=12] [turns=4] [model=smollm2-Q8_0.gguf]
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../tests/integration/node/helpers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONFIG = path.resolve(HERE, '../deploy/haproxy/haproxy.cfg');
const SHARED = process.env.SLUICE_SHARED || '../shared';
const [conversations = 12, turns = 4] = process.argv.slice(2, 4).map(Number);
const MODEL = `${SHARED}/models/${process.argv[4] || 'smollm2-Q8_0.gguf'}`;

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

function post(port, body, headers) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent: false,
                               headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t0, json: JSON.parse(data) })
                                                   : reject(new Error(`${res.statusCode} ${data}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function run(port, mode) {
  const stats = { requests: 0, prompt: 0, cached: 0, ms: [] };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conversations }, async (_, c) => {
    const system = Array.from({ length: 40 }, (__, i) => `Fact ${i} of ${mode} conversation ${c}: gate ${(i * 7) % 13} opens at dawn.`).join(' ');
    let messages = [{ role: 'system', content: system }, { role: 'user', content: 'Begin.' }];
    for (let t = 0; t < turns; ++t) {
      const r = await post(port, { model: 'm', messages, max_tokens: 16, temperature: 0 }, mode === 'affinity' ? { 'X-Session-Id': `c${c}` } : {});
      const u = r.json.usage;
      stats.requests++; stats.prompt += u.prompt_tokens; stats.cached += u.prompt_tokens_details.cached_tokens; stats.ms.push(r.ms);
      messages = [...messages, { role: 'assistant', content: r.json.choices[0].message.content }, { role: 'user', content: `Turn ${t + 1}.` }];
    }
  }));
  const wall = performance.now() - t0;
  stats.ms.sort((a, b) => a - b);
  const q = (p) => stats.ms[Math.min(stats.ms.length - 1, Math.floor(p * stats.ms.length))].toFixed(0);
  console.log(`${mode.padEnd(11)} ${stats.requests} requests, ${stats.prompt} prompt tokens, ${(100 * stats.cached / stats.prompt).toFixed(1)}% cached; ` +
              `latency p50 ${q(0.5)} ms, p90 ${q(0.9)} ms; wall ${(wall / 1000).toFixed(1)} s`);
}

const args = ['-m', MODEL, '--threads', '1', '--parallel', '4', '--ctx-size', '2048', '--kv-memory', '256', '--cache-ram', '96', '--no-store'];
const replicas = await Promise.all([0, 1, 2].map(() => startServer(args)));
const port = await freePort();
const env = { ...process.env, SLUICE_LB_BIND: `127.0.0.1:${port}` };
replicas.forEach((r, i) => { env[`SLUICE_REPLICA_${i + 1}`] = `127.0.0.1:${r.port}`; });
const lb = spawn('haproxy', ['-db', '-f', CONFIG], { env, stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));
try {
  console.log(`${conversations} conversations x ${turns} turns, ${path.basename(MODEL)}, 3 replicas (1 thread each) behind HAProxy`);
  await run(port, 'round-robin');
  await run(port, 'affinity');
} finally {
  lb.kill('SIGKILL');
  for (const r of replicas) r.kill('SIGKILL');
}
