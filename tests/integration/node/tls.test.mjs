// HTTPS: `sluice serve --tls-cert --tls-key` with a throwaway CA made at test time by the
// openssl CLI. The official openai client streams over it with the CA trusted; TLS 1.1 is
// refused; SIGHUP loads a new certificate for new connections while an open stream
// finishes on the old one; a pair that fails to load keeps the current one; bad flags and
// files stop start-up with a clear error. Needs SLUICE_BINARY, SLUICE_SHARED and openssl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import OpenAI from 'openai';
import { startServer, sseEvents } from './helpers.mjs';

const BIN = process.env.SLUICE_BINARY;
const SHARED = process.env.SLUICE_SHARED || '../shared';
const STORIES = `${SHARED}/models/stories260K.gguf`;
const SLOW = `${SHARED}/models/llama3-Q6_K.gguf`;
const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
const haveData = fs.existsSync(STORIES) && fs.existsSync(SLOW);
const skip = !haveOpenssl ? 'the openssl CLI is not installed (scripts/setup.sh)'
  : !haveData && process.env.SLUICE_REQUIRE_SHARED !== '1' ? `shared data not found under ${SHARED}` : false;

const KEY = 'tls-test-key-5f1c';
let dir, ca;

// DIR/NAME.crt (for 127.0.0.1, signed by the test CA) and DIR/NAME.key.
function issue(name) {
  const key = path.join(dir, `${name}.key`), csr = path.join(dir, `${name}.csr`), crt = path.join(dir, `${name}.crt`);
  const ext = path.join(dir, 'san.ext');
  fs.writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\n');
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', path.join(dir, 'ca.crt'), '-CAkey', path.join(dir, 'ca.key'),
                           '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', crt], { stdio: 'ignore' });
  return { crt, key };
}

before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=sluice test CA',
                           '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.crt')], { stdio: 'ignore' });
  ca = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
  issue('one');
  issue('two');
  // The openai client uses fetch, which trusts the default CA list: add the test CA to it.
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), ca]);
});

after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

// The subject CN of the certificate a new TLS connection is shown, and its protocol.
function handshake(port, options = {}) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca, ...options }, () => {
      const out = { cn: sock.getPeerCertificate().subject.CN, protocol: sock.getProtocol() };
      sock.end();
      resolve(out);
    });
    sock.once('error', reject);
  });
}

// One HTTPS request; resolves {status, headers, body, cn} (cn: the certificate it saw).
function httpsRequest(port, { method = 'GET', path: p = '/', headers = {}, body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: p, headers, ca, agent }, (res) => {
      const cn = res.socket.getPeerCertificate().subject.CN;
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data, cn }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

function copyPair(from, to) {
  fs.copyFileSync(path.join(dir, `${from}.crt`), path.join(dir, `${to}.crt`));
  fs.copyFileSync(path.join(dir, `${from}.key`), path.join(dir, `${to}.key`));
}

async function waitForLog(srv, pattern, ms = 10000) {
  const t0 = Date.now();
  while (!pattern.test(srv.log())) {
    if (Date.now() - t0 > ms) throw new Error(`no ${pattern} in the log:\n${srv.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the openai client streams a chat completion over HTTPS with the test CA trusted', { skip }, async () => {
  copyPair('one', 'live-a');
  const srv = await startServer(['-m', STORIES, '--api-key', KEY, '--tls-cert', path.join(dir, 'live-a.crt'),
                                 '--tls-key', path.join(dir, 'live-a.key')]);
  try {
    assert.match(srv.log(), /listening on https:\/\//);
    const client = new OpenAI({ baseURL: `https://127.0.0.1:${srv.port}/v1`, apiKey: KEY, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 16,
                                                          temperature: 0, stream: true });
    let text = '', finish = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(text.length > 0);
    assert.equal(finish, 'length');
    // Plain HTTP to the HTTPS port gets no answer; the client sees the connection end.
    await assert.rejects(fetch(`http://127.0.0.1:${srv.port}/health`));
  } finally {
    srv.kill('SIGKILL');
  }
});

test('TLS 1.2 and 1.3 are served; TLS 1.1 is refused by the server', { skip }, async () => {
  copyPair('one', 'live-b');
  const srv = await startServer(['-m', STORIES, '--tls-cert', path.join(dir, 'live-b.crt'), '--tls-key', path.join(dir, 'live-b.key')]);
  try {
    assert.equal((await handshake(srv.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
    assert.equal((await handshake(srv.port, { minVersion: 'TLSv1.3' })).protocol, 'TLSv1.3');
    // The client is allowed TLS 1.1 (security level 0 lifts Node's own refusal; such a
    // client completes a TLS 1.1 handshake with a server that allows it), so the refusal
    // below is the server's: its "protocol version" alert.
    await assert.rejects(handshake(srv.port, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
                         (e) => /alert protocol version/i.test(String(e.message)));
  } finally {
    srv.kill('SIGKILL');
  }
});

test('SIGHUP: new connections get the new certificate while an open stream finishes on the old one', { skip }, async () => {
  copyPair('one', 'live-c');
  const srv = await startServer(['-m', SLOW, '--ctx-size', '512', '--tls-cert', path.join(dir, 'live-c.crt'),
                                 '--tls-key', path.join(dir, 'live-c.key')]);
  try {
    assert.equal((await handshake(srv.port)).cn, 'one');
    // A stream long enough to be open across the reload.
    let firstChunk;
    const sawFirst = new Promise((r) => { firstChunk = r; });
    const streaming = new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: srv.port, method: 'POST', path: '/v1/completions', ca,
                                  headers: { 'Content-Type': 'application/json' }, agent: false }, (res) => {
        const cn = res.socket.getPeerCertificate().subject.CN;
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { data += c; firstChunk(); });
        res.on('end', () => resolve({ status: res.statusCode, body: data, cn }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ prompt: 'Hello', max_tokens: 300, temperature: 0, stream: true }));
    });
    await sawFirst;
    copyPair('two', 'live-c');
    srv.kill('SIGHUP');
    await waitForLog(srv, /TLS certificate reloaded/);
    assert.equal((await handshake(srv.port)).cn, 'two');
    const fresh = await httpsRequest(srv.port, { path: '/health', agent: false });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.cn, 'two');

    const done = await streaming;
    assert.equal(done.status, 200);
    assert.equal(done.cn, 'one');
    const { events, done: ended } = sseEvents(done.body);
    assert.ok(ended, 'the stream open during the reload ran to its [DONE]');
    assert.equal(events.at(-1).choices[0].finish_reason, 'length');
    assert.equal(srv.exitCode_, undefined, 'SIGHUP did not end the process');

    // A reload that cannot load (a certificate without its key) keeps the current pair.
    fs.copyFileSync(path.join(dir, 'one.crt'), path.join(dir, 'live-c.crt'));
    srv.kill('SIGHUP');
    await waitForLog(srv, /TLS certificate not reloaded, keeping the previous one: .*live-c\.key/);
    assert.equal((await handshake(srv.port)).cn, 'two');
  } finally {
    srv.kill('SIGKILL');
  }
});

test('start-up refuses one TLS flag without the other, unreadable files and a mismatched key', { skip }, () => {
  const run = (args) => spawnSync(BIN, ['serve', '--port', '0', '-m', STORIES, ...args], { encoding: 'utf8', timeout: 30000 });
  const only = run(['--tls-cert', path.join(dir, 'one.crt')]);
  assert.notEqual(only.status, 0);
  assert.match(only.stderr, /--tls-cert and --tls-key go together/);
  const missing = run(['--tls-cert', path.join(dir, 'nope.crt'), '--tls-key', path.join(dir, 'one.key')]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /--tls-cert '.*nope\.crt': cannot load the certificate/);
  const mismatched = run(['--tls-cert', path.join(dir, 'one.crt'), '--tls-key', path.join(dir, 'two.key')]);
  assert.notEqual(mismatched.status, 0);
  assert.match(mismatched.stderr, /two\.key/);
  assert.doesNotMatch(mismatched.stderr, /listening on/);
});
