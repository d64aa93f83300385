// Two coding agents against sluice, one turn each: Claude Code (`claude -p`, Anthropic
// Messages) and Codex (`codex exec`, OpenAI Responses), both installed from npm as pinned
// devDependencies. Each CLI talks to sluice through a recording proxy in this process, so
// that every request and answer can be checked: a non-2xx answer, a stream that breaks
// its event grammar, or a turn that does not end fails the test with the request and the
// answer; the CLI must exit 0.
//
// The model has random weights: left alone it practically never writes its end-of-turn
// token, every answer ends at the token limit, and both CLIs report a truncated answer.
// So the server runs with `--logit-bias '<|im_end|>+100'` (an operator setting, as with
// llama-server's --logit-bias): every answer ends at once with an empty text, which is a
// complete turn to the CLI. Lower biases give some text first, but the turn then ends or
// not by chance (seen: +17..+23 flaky across runs), and a test must not pass by chance.
// Text deltas are covered by the SDK tests. A CLI that is not installed skips with the
// reason. Needs SLUICE_BINARY and SLUICE_SHARED.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, sseEvents } from './helpers.mjs';

const HERE = nodePath.dirname(fileURLToPath(import.meta.url));
const SHARED = process.env.SLUICE_SHARED || '../shared';
const MODEL = `${SHARED}/models/qwen3-Q4_0.gguf`;
const required = process.env.SLUICE_REQUIRE_SHARED === '1';
const noModel = !fs.existsSync(MODEL) && !required ? `shared models not found under ${SHARED}/models` : false;
const KEY = 'sk-agent-clis';
const CLI_TIMEOUT_MS = 150000;

const tmpDirs = [];
function freshDir() {
  const d = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'sluice-clis-'));
  tmpDirs.push(d);
  return d;
}
const servers = [];
after(() => {
  for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

// The CLI's executable from node_modules/.bin, or why it cannot run.
function cli(name, versionArgs = ['--version']) {
  const bin = nodePath.join(HERE, 'node_modules', '.bin', name);
  if (!fs.existsSync(bin)) return { why: `${name} is not installed (npm ci in tests/integration/node installs it from package.json)` };
  return { bin };
}
const claude = cli('claude');
const codex = cli('codex');

// A proxy on a free loopback port that forwards to `target` and records each exchange:
// {method, url, reqBody, status, resBody, ms, firstByteMs}.
function recordingProxy(target) {
  const exchanges = [];
  const server = http.createServer((req, res) => {
    const started = Date.now();
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ex = { method: req.method, url: req.url, reqBody: body, status: 0, resBody: '', ms: 0, firstByteMs: null };
      exchanges.push(ex);
      const fwd = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (r) => {
        ex.status = r.statusCode;
        res.writeHead(r.statusCode, r.headers);
        r.on('data', (c) => {
          const s = c.toString();
          // The first byte of output text: prefill time, for the report.
          if (ex.firstByteMs === null && /_delta|\.delta"/.test(s)) ex.firstByteMs = Date.now() - started;
          ex.resBody += s;
          res.write(c);
        });
        r.on('end', () => { ex.ms = Date.now() - started; res.end(); });
      });
      fwd.on('error', (e) => { ex.status = -1; ex.resBody = String(e); res.destroy(); });
      fwd.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, exchanges, close: () => server.close() })));
}

function run(bin, args, env, cwd) {
  return new Promise((resolve) => {
    const p = spawn(bin, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), CLI_TIMEOUT_MS);
    p.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out, err }); });
  });
}

const cut = (s, n = 1500) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
function describe(ex) {
  let req = ex.reqBody;
  try {
    const b = JSON.parse(req);
    // The essentials: fields, and messages' roles and first characters.
    req = JSON.stringify({ ...b, system: b.system && '…', tools: b.tools && `${b.tools.length} tools`, instructions: b.instructions && '…',
      messages: b.messages?.map((m) => ({ role: m.role, content: cut(JSON.stringify(m.content), 200) })),
      input: Array.isArray(b.input) ? b.input.map((i) => cut(JSON.stringify(i), 200)) : b.input });
  } catch { /* not JSON */ }
  return `${ex.method} ${ex.url}\nrequest: ${cut(req, 3000)}\n→ ${ex.status}: ${cut(ex.resBody)}`;
}

// Problems with an Anthropic Messages stream.
function messagesStreamProblems(text) {
  const types = [];
  for (const f of text.split('\n\n').filter((x) => x.trim())) {
    const ev = f.split('\n').find((l) => l.startsWith('event: '))?.slice(7);
    const line = f.split('\n').find((l) => l.startsWith('data: '));
    if (!line) return [`frame without data: ${f}`];
    let data;
    try { data = JSON.parse(line.slice(6)); } catch { return [`bad JSON: ${line}`]; }
    if (ev !== data.type) return [`event ${ev} carries ${data.type}`];
    if (data.type === 'error') return [`error event: ${line}`];
    types.push(data.type);
  }
  const grammar = /^message_start( ping)*( content_block_start( ping| content_block_delta)* content_block_stop)*( ping)* message_delta( ping)* message_stop$/;
  return grammar.test(types.join(' ')) ? [] : [`event sequence: ${types.join(' ')}`];
}

// Problems with a Responses stream.
function responsesStreamProblems(text) {
  let events;
  try { events = sseEvents(text).events; } catch (e) { return [`bad JSON: ${e.message}`]; }
  const problems = [];
  let seq = -1;
  for (const ev of events) {
    if (!(Number.isInteger(ev.sequence_number) && ev.sequence_number > seq)) problems.push(`sequence_number ${ev.sequence_number} after ${seq}`);
    seq = ev.sequence_number;
  }
  if (events[0]?.type !== 'response.created') problems.push(`first event ${events[0]?.type}`);
  const last = events.at(-1)?.type;
  if (!['response.completed', 'response.incomplete'].includes(last)) problems.push(`last event ${last}: ${JSON.stringify(events.at(-1))}`);
  return problems;
}

// Checks the exchanges; returns a summary for the log.
function checkExchanges(exchanges, streamProblems) {
  assert.ok(exchanges.length > 0, 'the CLI sent no request to sluice');
  for (const ex of exchanges) {
    assert.ok(ex.status >= 200 && ex.status < 300, `sluice answered ${ex.status}:\n${describe(ex)}`);
    if (/^text\/event-stream|^event: |^data: /.test(ex.resBody)) {
      const problems = streamProblems(ex.resBody);
      assert.deepEqual(problems, [], `malformed stream:\n${describe(ex)}`);
    }
  }
  return exchanges.map((ex) => {
    let prompt = '';
    const usage = ex.resBody.match(/"input_tokens":(\d+)/);
    if (usage) prompt = ` ${usage[1]} input tokens,`;
    return `${ex.method} ${ex.url} ${ex.status}${prompt} first text after ${ex.firstByteMs} ms, done after ${ex.ms} ms`;
  }).join('\n');
}

async function serveForCli() {
  const s = await startServer(['-m', MODEL, '--ctx-size', '32768', '--n-predict', '64', '--logit-bias', '<|im_end|>+100', '--parallel', '2', '--kv-memory', '2048',
                               '--api-key', KEY, '--data-dir', freshDir()]);
  servers.push(s);
  return s;
}

// Every generation ended its turn: no answer was cut off at a token limit.
function assertTurnsEnded(exchanges) {
  for (const ex of exchanges) {
    if (!/^POST \/v1\/(messages|responses)(\?|$)/.test(`${ex.method} ${ex.url}`)) continue;
    assert.ok(!/"stop_reason":"max_tokens"|"status":"incomplete"/.test(ex.resBody), `an answer was cut off:\n${describe(ex)}`);
    assert.ok(/"stop_reason":"end_turn"|"type":"response.completed"/.test(ex.resBody), `no end of turn:\n${describe(ex)}`);
  }
}

test('Claude Code: claude -p completes one turn against /v1/messages', { skip: noModel || claude.why, timeout: 240000 }, async () => {
  const s = await serveForCli();
  const proxy = await recordingProxy(s.port);
  const home = freshDir();
  const work = freshDir();
  const env = { PATH: process.env.PATH, HOME: home, TMPDIR: os.tmpdir(),
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${proxy.port}`, ANTHROPIC_API_KEY: KEY, ANTHROPIC_MODEL: 'qwen3-Q4_0',
    DISABLE_TELEMETRY: '1', DISABLE_AUTOUPDATER: '1', DISABLE_ERROR_REPORTING: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' };
  const started = Date.now();
  const r = await run(claude.bin, ['-p', 'say hi', '--max-turns', '1'], env, work);
  proxy.close();
  const summary = checkExchanges(proxy.exchanges, messagesStreamProblems);
  console.log(`claude exited ${r.code} after ${Date.now() - started} ms; exchanges:\n${summary}\nstdout: ${cut(r.out, 400)}\nstderr: ${cut(r.err, 400)}`);
  assert.equal(r.signal, null, `claude was killed after ${CLI_TIMEOUT_MS} ms`);
  assertTurnsEnded(proxy.exchanges);
  assert.equal(r.code, 0, `claude failed:\nstdout: ${r.out}\nstderr: ${r.err}`);
});

test('Codex: codex exec completes one turn against /v1/responses', { skip: noModel || codex.why, timeout: 240000 }, async () => {
  const s = await serveForCli();
  const proxy = await recordingProxy(s.port);
  const codexHome = freshDir();
  const work = freshDir();
  fs.writeFileSync(nodePath.join(codexHome, 'config.toml'), [
    'model = "qwen3-Q4_0"',
    'model_provider = "sluice"',
    '',
    '[model_providers.sluice]',
    'name = "sluice"',
    `base_url = "http://127.0.0.1:${proxy.port}/v1"`,
    'wire_api = "responses"',
    'env_key = "SLUICE_API_KEY"',
    '',
  ].join('\n'));
  const env = { PATH: process.env.PATH, HOME: codexHome, CODEX_HOME: codexHome, SLUICE_API_KEY: KEY, TMPDIR: os.tmpdir() };
  const started = Date.now();
  const r = await run(codex.bin, ['exec', '--skip-git-repo-check', '--sandbox', 'read-only', 'say hi'], env, work);
  proxy.close();
  const summary = checkExchanges(proxy.exchanges, responsesStreamProblems);
  console.log(`codex exited ${r.code} after ${Date.now() - started} ms; exchanges:\n${summary}\nstdout: ${cut(r.out, 400)}\nstderr: ${cut(r.err.slice(-600), 600)}`);
  assert.equal(r.signal, null, `codex was killed after ${CLI_TIMEOUT_MS} ms`);
  assertTurnsEnded(proxy.exchanges);
  assert.equal(r.code, 0, `codex failed:\nstdout: ${r.out}\nstderr: ${r.err}`);
});
