// Prefix-affinity routing for real: three `sluice serve` replicas on loopback behind HAProxy
// running deploy/haproxy/haproxy.cfg unchanged (its addresses come from the environment).
// Conversations spread over the replicas and stick to theirs (cached_tokens grow); a replica
// drained with SIGTERM fails no request; one killed with SIGKILL loses only its in-flight
// requests, with an error and no hang, and its conversations move to the others; a full
// replica's 503 is retried on another, and when all are full the client gets sluice's 503
// with its Retry-After.
// Needs SLUICE_BINARY, SLUICE_SHARED and Debian's haproxy; without haproxy or the shared
// models it skips, unless SLUICE_REQUIRE_SHARED=1 (CI), where it fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, request, sseEvents, specialTokenIds } from './helpers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONFIG = path.resolve(HERE, '../../../deploy/haproxy/haproxy.cfg');
const SHARED = process.env.SLUICE_SHARED || '../shared';
const MODEL = `${SHARED}/models/smollm2-Q8_0.gguf`;  // 135M shape with a chat template: real prefix-cache behaviour
const required = process.env.SLUICE_REQUIRE_SHARED === '1';

function haproxyBinary() {
  for (const dir of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) {
    const p = path.join(dir, 'haproxy');
    if (dir && fs.existsSync(p)) return p;
  }
  return null;
}
const HAPROXY = haproxyBinary();
const missing = [!fs.existsSync(MODEL) && `shared model ${MODEL} not found`,
                 !HAPROXY && 'haproxy not installed (apt-get install haproxy; scripts/setup.sh installs it)'].filter(Boolean);
const skip = missing.length && !required ? missing.join('; ') : false;

const KEY_A = 'lb-key-alpha';
const KEY_B = 'lb-key-bravo';
const NAMES = ['sluice1', 'sluice2', 'sluice3'];
const replicas = {};  // name -> process (with .port)
let lb = null;  // the haproxy process, .port its frontend

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForPort(proc, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`haproxy exited ${proc.exitCode}:\n${proc.log()}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(proc.port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${proc.port} after ${ms} ms:\n${proc.log()}`);
}

// One chat completion through the balancer. Resolves (never rejects) with what the client saw:
// {status, replica, body, json | events+done, error, ms, end (performance.now() when settled)}. A request still open after
// `limitMs` is destroyed and reported as error 'hung', so a hang fails an assertion instead of
// the whole run.
function chat({ session, key = KEY_A, messages, maxTokens = 4, stream = false, limitMs = 30000, extra = {}, via = lb, signal }) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r) => { if (!settled) { settled = true; resolve({ ms: performance.now() - t0, end: performance.now(), ...r }); } };
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` };
    if (session !== undefined) headers['X-Session-Id'] = session;
    const body = JSON.stringify({ model: 'm', messages, max_tokens: maxTokens, temperature: 0, stream, ...extra,
                                  ...(stream ? { stream_options: { include_usage: true } } : {}) });
    const req = http.request({ host: '127.0.0.1', port: via.port, method: 'POST', path: '/v1/chat/completions', headers, agent: false, signal }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      const base = () => ({ status: res.statusCode, replica: res.headers['x-sluice-replica'], headers: res.headers, body: data });
      res.on('aborted', () => finish({ ...base(), error: 'aborted' }));
      res.on('error', (e) => finish({ ...base(), error: e.code || e.message }));
      res.on('close', () => finish({ ...base(), error: 'closed before the end' }));  // after 'end' this changes nothing
      res.on('end', () => {
        const r = base();
        try {
          if (stream && res.statusCode === 200) Object.assign(r, sseEvents(data));
          else r.json = JSON.parse(data);
        } catch (e) {
          r.error = `unparsable body: ${e.message}`;
        }
        finish(r);
      });
    });
    req.setTimeout(limitMs, () => { req.destroy(); finish({ error: 'hung' }); });
    req.on('error', (e) => finish({ error: e.code || e.message }));
    req.end(body);
  });
}

const usageOf = (r) => r.json?.usage ?? r.events?.at(-1)?.usage;
const textOf = (r) => r.json ? r.json.choices[0].message.content : r.events.map((e) => e.choices[0]?.delta?.content ?? '').join('');
const complete = (r) => !r.error && r.status === 200 && (r.json ? r.json.choices?.length === 1 : r.done === true);

async function metricOf(proc, line) {
  const m = await request(proc.port, { path: '/metrics', headers: { Authorization: `Bearer ${KEY_A}` } });
  assert.equal(m.status, 200, m.body);
  const row = m.body.split('\n').find((l) => l.startsWith(`${line} `));
  return row ? Number(row.split(' ').at(-1)) : 0;
}
const metric = (name, line) => metricOf(replicas[name], line);
const chatsServed = (name) => metric(name, 'sluice_requests_total{endpoint="/v1/chat/completions",status="200"}');

const hello = [{ role: 'user', content: 'Hello there.' }];

// A long, conversation-specific system prompt (~500 tokens), so a cache hit is unambiguous
// and no conversation's prefix helps another's.
function conversationStart(tag) {
  const story = Array.from({ length: 40 }, (_, i) => `Note ${i} of conversation ${tag}: the sluice gate ${i * 7 % 13} opens at dawn.`).join(' ');
  return [{ role: 'system', content: story }, { role: 'user', content: `Tell me about gate ${tag}.` }];
}

before(async () => {
  if (skip) return;
  if (missing.length) throw new Error(`SLUICE_REQUIRE_SHARED=1 but ${missing.join('; ')}`);
  const args = ['-m', MODEL, '--api-key', KEY_A, '--api-key', KEY_B, '--threads', '1', '--parallel', '4', '--ctx-size', '1024',
                '--kv-memory', '192', '--cache-ram', '64', '--shutdown-timeout', '20', '--no-store'];
  const started = await Promise.all(NAMES.map(() => startServer(args)));
  NAMES.forEach((n, i) => { replicas[n] = started[i]; });
  lb = await startBalancer(NAMES.map((n) => replicas[n].port));
});

// HAProxy on deploy/haproxy/haproxy.cfg over replicas on `ports`; .port is its frontend.
async function startBalancer(ports) {
  const port = await freePort();
  const env = { ...process.env, SLUICE_LB_BIND: `127.0.0.1:${port}` };
  ports.forEach((p, i) => { env[`SLUICE_REPLICA_${i + 1}`] = `127.0.0.1:${p}`; });
  execFileSync(HAPROXY, ['-c', '-q', '-f', CONFIG], { env });
  const proc = spawn(HAPROXY, ['-db', '-f', CONFIG], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  proc.log = () => log;
  proc.port = port;
  await waitForPort(proc, 10000);
  return proc;
}

after(() => {
  for (const p of [...Object.values(replicas), lb]) if (p && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

const routed = {};  // session id -> replica name, from the first test

test('conversations spread over the replicas, as each replica\'s own metrics confirm', { skip }, async (t) => {
  const sessions = Array.from({ length: 12 }, (_, i) => `conversation-${i}`);
  const results = await Promise.all(sessions.map((session) => chat({ session, messages: hello })));
  const perReplica = Object.fromEntries(NAMES.map((n) => [n, 0]));
  results.forEach((r, i) => {
    assert.ok(complete(r), JSON.stringify(r));
    assert.ok(NAMES.includes(r.replica), r.replica);
    routed[sessions[i]] = r.replica;
    ++perReplica[r.replica];
  });
  t.diagnostic(`12 sessions over 3 replicas: ${JSON.stringify(perReplica)}`);
  // Consistent hashing on fixed names and ids is deterministic: these 12 ids reach all three.
  for (const n of NAMES) {
    assert.ok(perReplica[n] > 0, `no session on ${n}: ${JSON.stringify(perReplica)}`);
    assert.equal(await chatsServed(n), perReplica[n], `${n}'s own count of answered chats`);
  }
  // The same ids again land where they did.
  const again = await Promise.all(sessions.map((session) => chat({ session, messages: hello })));
  again.forEach((r, i) => assert.equal(r.replica, routed[sessions[i]], sessions[i]));
});

test('a conversation sticks to its replica: cached_tokens grow turn by turn; elsewhere nothing is cached', { skip }, async (t) => {
  // One conversation per replica, by the routes the first test saw.
  const picks = NAMES.map((n) => Object.keys(routed).find((s) => routed[s] === n));
  await Promise.all(picks.map(async (session, c) => {
    let messages = conversationStart(c);
    const turns = [];
    for (let turn = 0; turn < 3; ++turn) {
      const r = await chat({ session, messages, maxTokens: 8 });
      assert.ok(complete(r), JSON.stringify(r));
      assert.equal(r.replica, routed[session], `turn ${turn} of ${session} moved`);
      turns.push({ usage: usageOf(r), ms: r.ms });
      messages = [...messages, { role: 'assistant', content: textOf(r) }, { role: 'user', content: `And turn ${turn + 1}?` }];
    }
    const cached = turns.map((x) => x.usage.prompt_tokens_details.cached_tokens);
    const prompt = turns.map((x) => x.usage.prompt_tokens);
    t.diagnostic(`${session} on ${routed[session]}: prompt tokens ${prompt.join(' -> ')}, cached ${cached.join(' -> ')}, ` +
                 `request ms ${turns.map((x) => x.ms.toFixed(0)).join(' -> ')}`);
    assert.ok(prompt[0] > 400, JSON.stringify(turns));
    // The first turn shares at most the chat template's opening with other conversations
    // (rows lent from their cached blocks), never a block of its own text.
    assert.ok(cached[0] < 16, JSON.stringify(turns));
    // The prefix cache keeps whole 16-token blocks of the previous prompt.
    assert.ok(cached[1] >= prompt[0] - 16, JSON.stringify(turns));
    assert.ok(cached[2] >= prompt[1] - 16 && cached[2] > cached[1], JSON.stringify(turns));
  }));
  // The same conversation under an id that hashes to another replica starts from nothing there.
  const session = picks[0];
  const other = Object.keys(routed).find((s) => routed[s] !== routed[session]);
  const moved = await chat({ session: other, messages: conversationStart(0), maxTokens: 8 });
  assert.ok(complete(moved), JSON.stringify(moved));
  assert.notEqual(moved.replica, routed[session]);
  assert.ok(usageOf(moved).prompt_tokens_details.cached_tokens < 16, JSON.stringify(usageOf(moved)));
});

test('without X-Session-Id the API key is the conversation key', { skip }, async () => {
  for (const key of [KEY_A, KEY_B]) {
    const results = await Promise.all(Array.from({ length: 6 }, () => chat({ key, messages: hello })));
    for (const r of results) assert.ok(complete(r), JSON.stringify(r));
    assert.equal(new Set(results.map((r) => r.replica)).size, 1, `${key}: ${results.map((r) => r.replica)}`);
  }
});

// Streams of exactly `maxTokens` tokens (the end-of-turn tokens banned, so none ends early
// and a replica's streams are surely in flight when it is signalled) for `sessions`, together.
let noEndBias = null;
const noEnd = async () => (noEndBias ??= Object.fromEntries((await specialTokenIds(MODEL, ['<|im_end|>', '<|endoftext|>'])).map((id) => [id, -100])));
async function load(sessions, maxTokens) {
  const logit_bias = await noEnd();
  return sessions.map((session, i) => chat({ session, messages: [{ role: 'user', content: `Story number ${i}, please.` }], maxTokens, stream: true,
                                             limitMs: 60000, extra: { logit_bias } }));
}

async function untilRunningOn(proc) {
  for (let i = 0; i < 400; ++i) {
    if (await metricOf(proc, 'sluice_sequences_running') > 0) return;
    await sleep(25);
  }
  throw new Error(`the replica on ${proc.port} never started generating`);
}
const untilRunning = (name) => untilRunningOn(replicas[name]);

test('a replica drained with SIGTERM fails no request: its streams finish, new requests go elsewhere', { skip }, async (t) => {
  const target = 'sluice2';
  const sessions = Object.keys(routed);
  const mine = sessions.filter((s) => routed[s] === target);
  const streams = await load(sessions, 96);
  await untilRunning(target);
  const exited = new Promise((r) => replicas[target].on('exit', (code, signal) => r({ code, signal })));
  const t0 = performance.now();
  replicas[target].kill('SIGTERM');
  for (let i = 0; i < 200 && !/draining/.test(replicas[target].log()); ++i) await sleep(10);
  assert.match(replicas[target].log(), /draining/);
  // While it drains (and after), its conversations keep coming.
  const later = [];
  for (let round = 0; round < 6; ++round) {
    later.push(...mine.map((session) => chat({ session, messages: hello })));
    await sleep(150);
  }
  const [done, after] = [await Promise.all(streams), await Promise.all(later)];
  const exit = await exited;
  const drainMs = performance.now() - t0;
  const failed = [...done, ...after].filter((r) => !complete(r));
  assert.deepEqual(failed, [], 'failed requests');
  const onTarget = done.filter((r) => r.replica === target).length;
  assert.ok(onTarget > 0, 'the drained replica had streams in flight');
  assert.ok(after.every((r) => r.replica !== target), `served by ${after.map((r) => r.replica)}`);
  assert.deepEqual(exit, { code: 0, signal: null });
  t.diagnostic(`SIGTERM with ${onTarget} of ${done.length} streams on ${target}: all finished, exit 0 after ${drainMs.toFixed(0)} ms; ` +
               `${after.length} later requests for its ${mine.length} sessions all answered by the others`);
});

test('a replica killed with SIGKILL loses only its in-flight requests, clearly, and its sessions move', { skip }, async (t) => {
  const target = 'sluice1';
  const alive = 'sluice3';
  const sessions = Object.keys(routed).filter((s) => routed[s] !== 'sluice2');
  const started = performance.now();
  const streams = await load(sessions, 200);
  await untilRunning(target);
  const t0 = performance.now();
  replicas[target].kill('SIGKILL');
  const done = await Promise.all(streams);
  const settleMs = performance.now() - t0;
  const lost = done.filter((r, i) => routed[sessions[i]] === target);
  const kept = done.filter((r, i) => routed[sessions[i]] !== target);
  for (const r of kept) {
    assert.ok(complete(r), JSON.stringify(r).slice(0, 300));
    assert.equal(r.replica, alive);
    assert.equal(usageOf(r).completion_tokens, 200);
  }
  // The killed replica's streams end at once with an error the client sees: the stream is cut
  // before [DONE] (the response had begun) or HAProxy's JSON 502 (it had not). None hangs.
  assert.ok(lost.length > 0);
  for (const r of lost) {
    assert.notEqual(r.error, 'hung');
    assert.ok(r.error === 'aborted' || r.status === 502 || (r.status === 200 && r.done === false),
              JSON.stringify({ ...r, body: r.body?.slice(0, 200) }));
    if (r.status === 502) assert.equal(r.json.error.code, 'bad_gateway');
    assert.ok(r.end - t0 < 10000, `failed ${(r.end - t0).toFixed(0)} ms after the kill`);
  }
  // Its conversations are served by the survivor, at once (connection refused is retried on
  // another server) and after the health check marks it down.
  const mine = sessions.filter((s) => routed[s] === target);
  for (let round = 0; round < 2; ++round) {
    const next = await Promise.all(mine.map((session) => chat({ session, messages: hello })));
    for (const r of next) {
      assert.ok(complete(r), JSON.stringify(r));
      assert.equal(r.replica, alive);
    }
    if (round === 0) await sleep(2500);  // fall 2 x inter 1s
  }
  t.diagnostic(`SIGKILL with ${done.length} streams in flight: ${lost.length} on ${target} failed ` +
               `(${lost.map((r) => r.error ?? r.status).join(', ')}), ${kept.length} on ${alive} completed; ` +
               `killed ${(t0 - started).toFixed(0)} ms after they started; all settled ${settleMs.toFixed(0)} ms after the kill`);
});

test('a full replica\'s 503 is retried on another; when all are full the client gets sluice\'s 503 and Retry-After', { skip }, async () => {
  // Replicas that take one request and queue none: a second one is refused with 503 at once.
  const own = await Promise.all(NAMES.map(() => startServer(['-m', MODEL, '--api-key', KEY_A, '--threads', '1', '--parallel', '1', '--queue-size', '0',
                                                              '--ctx-size', '4096', '--kv-memory', '64', '--cache-ram', '0', '--no-store'])));
  const byName = Object.fromEntries(NAMES.map((n, i) => [n, own[i]]));
  const bal = await startBalancer(own.map((p) => p.port));
  const holds = [];
  try {
    const pick = {};  // replica -> a session id it owns
    for (let i = 0; Object.keys(pick).length < NAMES.length && i < 60; ++i) {
      const r = await chat({ via: bal, session: `full-${i}`, messages: hello, maxTokens: 1 });
      assert.ok(complete(r), JSON.stringify(r));
      pick[r.replica] ??= `full-${i}`;
    }
    assert.deepEqual(Object.keys(pick).sort(), NAMES);
    const logit_bias = await noEnd();
    const hold = (name) => {
      const ac = new AbortController();
      holds.push(ac);
      chat({ via: bal, session: pick[name], messages: hello, maxTokens: 3500, stream: true, signal: ac.signal, extra: { logit_bias } });
      return untilRunningOn(byName[name]);
    };
    await hold('sluice1');
    const moved = await chat({ via: bal, session: pick.sluice1, messages: hello });
    assert.ok(complete(moved), JSON.stringify(moved));
    assert.notEqual(moved.replica, 'sluice1', 'a busy replica\'s conversation is answered elsewhere');
    assert.ok(await metricOf(byName.sluice1, 'sluice_requests_total{endpoint="/v1/chat/completions",status="503"}') >= 1, 'after sluice1 refused it');

    await Promise.all([hold('sluice2'), hold('sluice3')]);
    const refused = await chat({ via: bal, session: pick.sluice1, messages: hello });
    assert.equal(refused.status, 503, JSON.stringify(refused));
    assert.ok(Number(refused.headers['retry-after']) >= 1, 'sluice\'s Retry-After reaches the client');
    assert.notEqual(refused.json.error.code, 'unavailable', 'the replica\'s own 503, not the balancer\'s "no replica"');
    // It was tried `retries` + 1 times (redispatch avoids the server just tried, so a third
    // try may return to the first), as the earlier request was tried twice.
    const retries = Number(fs.readFileSync(CONFIG, 'utf8').match(/^\s*retries (\d+)$/m)[1]);
    const refusals = await Promise.all(own.map((p) => metricOf(p, 'sluice_requests_total{endpoint="/v1/chat/completions",status="503"}')));
    assert.equal(refusals.reduce((a, b) => a + b), 1 + retries + 1, `refusals per replica: ${refusals}`);
  } finally {
    for (const ac of holds) ac.abort();
    bal.kill('SIGKILL');
    for (const p of own) p.kill('SIGKILL');
  }
});
