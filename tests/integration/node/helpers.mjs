// Shared by the integration test files: start the real `sluice serve` on a free loopback
// port, and plain HTTP requests through Node's http module.
import { spawn } from 'node:child_process';
import http from 'node:http';

const BIN = process.env.SLUICE_BINARY;

// Starts `sluice serve --port 0 ARGS`; resolves once it is ready (or only listening, with
// options.untilListening). proc.port is the port, proc.log() what it printed.
export function startServer(args, options = {}) {
  return new Promise((resolve, reject) => {
    const { untilListening, ...spawnOptions } = options;
    const proc = spawn(BIN, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'], ...spawnOptions });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 30000);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m && !proc.port) proc.port = Number(m[1]);
      if (proc.port && options.untilListening && !proc.ready) {
        proc.ready = true;
        clearTimeout(timer);
        resolve(proc);
      }
      if (proc.port && /ready/.test(log) && !proc.ready) {
        proc.ready = true;
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.on('exit', (code) => { proc.exitCode_ = code; clearTimeout(timer); if (!proc.ready) reject(new Error(`server exited ${code}:\n${log}`)); });
    proc.log = () => log;
  });
}

// Raw HTTP request; resolves {status, headers, body}.
export function request(port, { method = 'GET', path = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

