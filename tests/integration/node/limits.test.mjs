// Connection limits against the real binary: when --max-connections is reached the idle
// keep-alive connection is closed to make room (and only when none is idle are new ones
// refused: 503 with Retry-After, then closed); --max-connections-per-ip caps one address, loopback included; a client that
// trickles its request head a byte at a time is cut off at --header-timeout, on a new
// connection and on a kept-alive one. Needs SLUICE_BINARY and SLUICE_SHARED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startServer, request } from './helpers.mjs';

const SHARED = process.env.SLUICE_SHARED || '../shared';
const STORIES = `${SHARED}/models/stories260K.gguf`;
const skip = !fs.existsSync(STORIES) && process.env.SLUICE_REQUIRE_SHARED !== '1' ? `shared data not found under ${SHARED}` : false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A raw connection that records what arrives and when the server closes it.
async function connect(port) {
  const sock = net.connect(port, '127.0.0.1');
  sock.data = '';
  sock.closedAt = null;
  sock.on('data', (d) => { sock.data += d; });
  sock.on('close', () => { sock.closedAt = Date.now(); });
  sock.on('error', () => {});
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  return sock;
}

// Sends GET PATH on `sock` (keep-alive) and waits for the whole answer.
async function get(sock, path) {
  const start = sock.data.length;
  sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const t0 = Date.now();
  while (!/\r\n\r\n\{[^}]*\}$/.test(sock.data.slice(start))) {
    if (sock.closedAt || Date.now() - t0 > 5000) return null;
    await sleep(10);
  }
  return Number(sock.data.slice(start).split(' ')[1]);
}

// A refused connection is answered before anything is read: 503, Retry-After, close, and an
// OpenAI error body naming the cap.
function assertRefusedWith503(data, cap) {
  const [head, body] = data.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 503 /);
  assert.match(head, /\r\nRetry-After: 1(\r\n|$)/i);
  assert.match(head, /\r\nConnection: close(\r\n|$)/i);
  const err = JSON.parse(body).error;
  assert.ok(err.message.includes(cap), err.message);
}

async function closedWithin(sock, ms) {
  const t0 = Date.now();
  while (!sock.closedAt && Date.now() - t0 < ms) await sleep(10);
  return sock.closedAt !== null;
}

test('--max-connections: the idle keep-alive connection makes room; with none idle, new ones are refused with 503', { skip }, async () => {
  const srv = await startServer(['-m', STORIES, '--max-connections', '3', '--max-connections-per-ip', '0']);
  const socks = [];
  try {
    for (let i = 0; i < 3; ++i) socks.push(await connect(srv.port));
    assert.equal(await get(socks[0], '/health'), 200);  // 0 and then 1 go idle, 2 never sent anything
    await sleep(20);
    assert.equal(await get(socks[1], '/health'), 200);
    const fourth = await connect(srv.port);
    socks.push(fourth);
    assert.equal(await get(fourth, '/health'), 200, 'the new connection is served');
    assert.ok(await closedWithin(socks[0], 2000), 'the longest-idle connection was closed to make room');
    assert.equal(socks[1].closedAt, null);
    assert.equal(socks[2].closedAt, null, 'a connection that has not finished a request is not idle');
    assert.equal(await get(socks[1], '/health'), 200, 'the other idle connection still works');

    // Now 1, 2, fourth are open; make them all busy-or-fresh: nothing idle once 1 and fourth
    // start requests they do not finish sending.
    socks[1].write('GET /health HTTP/1.1\r\n');
    fourth.write('GET /health HTTP/1.1\r\n');
    await sleep(100);
    const refused = await connect(srv.port);
    socks.push(refused);
    assert.ok(await closedWithin(refused, 3000), 'full with nothing idle: the new connection is closed');
    assertRefusedWith503(refused.data, '--max-connections 3');
  } finally {
    for (const s of socks) s.destroy();
    srv.kill('SIGKILL');
  }
});

test('--max-connections-per-ip caps one address, loopback included', { skip }, async () => {
  const srv = await startServer(['-m', STORIES, '--max-connections-per-ip', '2']);
  const socks = [];
  try {
    socks.push(await connect(srv.port), await connect(srv.port));
    const third = await connect(srv.port);
    socks.push(third);
    assert.ok(await closedWithin(third, 3000), 'the third connection from 127.0.0.1 is closed');
    assertRefusedWith503(third.data, '--max-connections-per-ip 2');
    // One of the two goes idle after a request: then a new one takes its place.
    assert.equal(await get(socks[0], '/health'), 200);
    const fourth = await connect(srv.port);
    socks.push(fourth);
    assert.equal(await get(fourth, '/health'), 200);
    assert.ok(await closedWithin(socks[0], 2000));
    for (const s of socks) s.destroy();
    await sleep(100);
    assert.equal((await request(srv.port, { path: '/health' })).status, 200, 'closed connections are counted out');
  } finally {
    for (const s of socks) s.destroy();
    srv.kill('SIGKILL');
  }
});

test('slowloris: a request head sent a byte at a time is cut off at --header-timeout', { skip }, async () => {
  const srv = await startServer(['-m', STORIES, '--header-timeout', '2']);
  const socks = [];
  const trickle = async (sock, text) => {
    for (const ch of text) {
      if (sock.closedAt) return;
      sock.write(ch);
      await sleep(250);
    }
  };
  try {
    const head = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ' + 'a'.repeat(40) + '\r\n\r\n';  // ~16 s at 4 bytes/s
    // A new connection.
    const fresh = await connect(srv.port);
    socks.push(fresh);
    const t0 = Date.now();
    trickle(fresh, head);
    assert.ok(await closedWithin(fresh, 6000), 'the trickling client was cut off');
    assert.ok(fresh.closedAt - t0 < 4000, `held ${fresh.closedAt - t0} ms`);

    // A kept-alive connection may wait for its next request (idle, longer than the header
    // deadline), but once that request starts, its head gets the header deadline too.
    const kept = await connect(srv.port);
    socks.push(kept);
    assert.equal(await get(kept, '/health'), 200);
    await sleep(2500);
    assert.equal(kept.closedAt, null, 'an idle keep-alive connection is not held to the header deadline');
    const t1 = Date.now();
    trickle(kept, head);
    assert.ok(await closedWithin(kept, 6000), 'the trickled second request was cut off');
    assert.ok(kept.closedAt - t1 < 4000, `held ${kept.closedAt - t1} ms`);
  } finally {
    for (const s of socks) s.destroy();
    srv.kill('SIGKILL');
  }
});
