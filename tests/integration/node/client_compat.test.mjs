// What real clients do that the first test helper never did: bodies with Content-Length
// over the limit, HEAD on keep-alive connections, lone surrogates from JSON.stringify,
// fields the validator has never seen, agent-sized contexts. Each test fails on a server
// that answers the way sluice did before (issue 10). Needs SLUICE_BINARY and SLUICE_SHARED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import OpenAI from 'openai';
import { startServer, request } from './helpers.mjs';

const SHARED = process.env.SLUICE_SHARED || '../shared';
const STORIES = `${SHARED}/models/stories260K.gguf`;
const required = process.env.SLUICE_REQUIRE_SHARED === '1';
const skip = !fs.existsSync(STORIES) && !required ? `shared data not found under ${SHARED}` : false;

const KEY = 'compat-key';
const auth = { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' };
let srv;  // --max-body 4096, a key, the model's own context

before(async () => {
  if (skip) return;
  srv = await startServer(['-m', STORIES, '--api-key', KEY, '--max-body', '4096', '--alias', 'stories']);
});

after(() => {
  if (srv && srv.exitCode_ === undefined) srv.kill('SIGKILL');
});

// Writes `head` then `body` (in pieces, as fast as the socket takes them) on a raw socket and
// collects what the server sends until it closes. Resolves {data, reset}: reset is true
// when the connection ended with an error (ECONNRESET) instead of an orderly close.
function rawExchange(port, head, body = Buffer.alloc(0)) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let reset = false;
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => { reset = true; });
    sock.on('close', () => resolve({ data: Buffer.concat(chunks).toString('latin1'), reset }));
    sock.on('connect', async () => {
      sock.write(head);
      for (let off = 0; off < body.length && !sock.destroyed; off += 64 * 1024) {
        if (!sock.write(body.subarray(off, off + 64 * 1024))) await new Promise((r) => sock.once('drain', r).once('close', r));
      }
      if (!sock.destroyed) sock.end();
    });
  });
}

async function metric(port, name) {
  const r = await request(port, { path: '/metrics', headers: auth });
  const m = r.body.match(new RegExp(`^${name.replace(/[{}"\/.]/g, '\\$&')} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : 0;
}

test('413 for a Content-Length over --max-body: answered, logged, closed without a reset', { skip }, async () => {
  const body = Buffer.alloc(2 << 20, 'x');  // the client keeps sending long after the answer
  const head = `POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n` +
               `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const before413 = await metric(srv.port, 'sluice_requests_total{endpoint="/v1/completions",status="413"}');
  const r = await rawExchange(srv.port, head, body);
  assert.match(r.data, /^HTTP\/1\.1 413 /);
  assert.equal(r.reset, false, 'the connection was reset, which can destroy the answer before the client reads it');
  const json = JSON.parse(r.data.slice(r.data.indexOf('\r\n\r\n') + 4));
  assert.equal(json.error.code, 'payload_too_large');
  assert.match(r.data, /\r\nConnection: close\r\n/i);
  assert.equal(await metric(srv.port, 'sluice_requests_total{endpoint="/v1/completions",status="413"}'), before413 + 1);
  assert.match(srv.log(), /POST \/v1\/completions 413/);
});

test('openai client: an oversized body is a 413 APIError, not a connection error retried', { skip }, async () => {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${srv.port}/v1`, apiKey: KEY, maxRetries: 2 });
  const before413 = await metric(srv.port, 'sluice_requests_total{endpoint="/v1/chat/completions",status="413"}');
  await assert.rejects(client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'x'.repeat(20000) }] }),
    (e) => e instanceof OpenAI.APIError && !(e instanceof OpenAI.APIConnectionError) && e.status === 413);
  // 413 is final: the SDK does not re-upload the body.
  assert.equal(await metric(srv.port, 'sluice_requests_total{endpoint="/v1/chat/completions",status="413"}'), before413 + 1);
});

test('a malformed request line gets a 400 answer before the close', { skip }, async () => {
  const r = await rawExchange(srv.port, 'GARBAGE\x01 / HTTP/1.1\r\n\r\n');
  assert.match(r.data, /^HTTP\/1\.1 400 /);
  assert.equal(JSON.parse(r.data.slice(r.data.indexOf('\r\n\r\n') + 4)).error.type, 'invalid_request_error');
});

test('HEAD answers like GET without a body, on every route, and keep-alive survives it', { skip }, async () => {
  // Pipelined on one raw connection: the second answer must start right after the first's headers.
  const r = await rawExchange(srv.port, 'HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n' +
                                        `HEAD / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n\r\n` +
                                        'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const answers = r.data.split(/(?=HTTP\/1\.1 )/);
  assert.equal(answers.length, 3, r.data);
  assert.match(answers[0], /^HTTP\/1\.1 200 [^]*\r\nContent-Length: 15\r\n/i);
  assert.ok(answers[0].endsWith('\r\n\r\n'), answers[0]);  // headers only
  assert.match(answers[1], /^HTTP\/1\.1 404 /);
  assert.ok(answers[1].endsWith('\r\n\r\n'), answers[1]);
  assert.ok(answers[2].endsWith('{"status":"ok"}'), answers[2]);

  // What Claude Code does first, through a keep-alive agent: HEAD /, then real requests.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method, path) => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, method, path, agent, headers: auth }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data, socket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
  try {
    const head = await call('HEAD', '/');
    assert.equal(head.status, 404);
    assert.equal(head.body, '');
    const headModels = await call('HEAD', '/v1/models');
    assert.equal(headModels.status, 200);
    assert.ok(Number(headModels.headers['content-length']) > 0);
    const models = await call('GET', '/v1/models');
    assert.equal(models.status, 200);
    assert.equal(models.socket, true, 'the GET reused the connection');
    assert.equal(JSON.parse(models.body).data[0].id, 'stories');
    assert.equal(Number(headModels.headers['content-length']), Buffer.byteLength(models.body));
  } finally {
    agent.destroy();
  }
});

test('a lone surrogate escape is read as U+FFFD; syntax errors name the byte offset', { skip }, async () => {
  // JSON.stringify writes a lone surrogate as an escape when a string is cut inside an emoji.
  const cut = '\u{1F600}'.slice(0, 1);
  const body = JSON.stringify({ prompt: `Once ${cut} upon`, max_tokens: 2 });
  assert.ok(body.includes('\\ud83d'));
  const ok = await request(srv.port, { method: 'POST', path: '/v1/completions', headers: auth, body });
  assert.equal(ok.status, 200, ok.body);
  const bad = await request(srv.port, { method: 'POST', path: '/v1/completions', headers: auth, body: '{"prompt": "x",, "max_tokens": 2}' });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).error.message, /at byte 15/);
});

test('fields clients send that change nothing are accepted; unknown ones are named', { skip }, async () => {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${srv.port}/v1`, apiKey: KEY, maxRetries: 0 });
  const { data, response } = await client.chat.completions.create({
    model: 'stories', max_tokens: 3, temperature: 0,
    messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: null, reasoning_content: 'thought' },
               { role: 'user', content: 'Go on' }],
    prompt_cache_key: 'codex-session', safety_identifier: 'user-1', verbosity: 'low', reasoning_effort: 'low',
    modalities: ['text'], chat_template_kwargs: { enable_thinking: false }, cache_prompt: true, store: false,
    frobnicate: true,
  }).withResponse();
  assert.equal(data.choices[0].message.role, 'assistant');
  assert.equal(response.headers.get('x-sluice-ignored-fields'), 'frobnicate');
  assert.match(srv.log(), /ignored unknown request fields: frobnicate/);

  // Fields that would change the output and are not implemented are refused, never dropped.
  await assert.rejects(client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Hi' }], mirostat: 2 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'mirostat' && e.code === 'unsupported_parameter');

  const strict = await startServer(['-m', STORIES, '--strict-fields']);
  try {
    const r = await request(strict.port, { method: 'POST', path: '/v1/chat/completions', headers: { 'Content-Type': 'application/json' },
                                           body: { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, frobnicate: 1 } });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).error.param, 'frobnicate');
  } finally {
    strict.kill('SIGKILL');
  }
});

test('the context defaults to the model\'s, bounded by --kv-memory, and /v1/models reports it', { skip }, async () => {
  const trained = JSON.parse(execFileSync(process.env.SLUICE_BINARY, ['inspect', STORIES, '--json']).toString()).hyper_parameters.context_length;
  assert.ok(trained > 0);
  const models = JSON.parse((await request(srv.port, { path: '/v1/models', headers: auth })).body);
  assert.equal(models.data[0].context_length, trained);

  // 1 MiB of KV holds fewer positions than the model's context: the bound wins, and a
  // request that could never fit is refused with context_length_exceeded.
  const small = await startServer(['-m', STORIES, '--kv-memory', '1']);
  try {
    const n = JSON.parse((await request(small.port, { path: '/v1/models' })).body).data[0].context_length;
    assert.ok(n > 0 && n < trained, `context_length ${n}`);
    const fits = await request(small.port, { method: 'POST', path: '/v1/completions', headers: { 'Content-Type': 'application/json' },
                                             body: { prompt: 'Once upon a time', max_tokens: 4 } });
    assert.equal(fits.status, 200, fits.body);
    const over = await request(small.port, { method: 'POST', path: '/v1/completions', headers: { 'Content-Type': 'application/json' },
                                             body: { prompt: 'Once upon a time', max_tokens: n } });
    assert.equal(over.status, 400);
    assert.equal(JSON.parse(over.body).error.code, 'context_length_exceeded');
  } finally {
    small.kill('SIGKILL');
  }
});

test('a conversation whose rendering alone is too long is context_length_exceeded, not a template error', { skip }, async () => {
  const big = await startServer(['-m', STORIES, '--max-body', String(24 << 20)]);
  try {
    const content = 'word '.repeat(2 << 20);  // 10 MB: past the template's own output limit
    const r = await request(big.port, { method: 'POST', path: '/v1/chat/completions', headers: { 'Content-Type': 'application/json' },
                                        body: { messages: [{ role: 'user', content }] } });
    assert.equal(r.status, 400);
    const e = JSON.parse(r.body).error;
    assert.equal(e.code, 'context_length_exceeded', e.message);
    assert.equal(e.param, 'messages');
  } finally {
    big.kill('SIGKILL');
  }
});
