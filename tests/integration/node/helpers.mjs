// Shared by the integration test files: start the real `sluice serve` on a free loopback
// port, and plain HTTP requests through Node's http module.
import { spawn } from 'node:child_process';
import http from 'node:http';

const BIN = process.env.SLUICE_BINARY;

// Starts `sluice serve --port 0 ARGS` (HTTP or, with --tls-cert, HTTPS); resolves once it is ready (or only listening, with
// options.untilListening). proc.port is the port, proc.log() what it printed.
export function startServer(args, options = {}) {
  return new Promise((resolve, reject) => {
    const { untilListening, ...spawnOptions } = options;
    const proc = spawn(BIN, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'], ...spawnOptions });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 30000);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/listening on https?:\/\/127\.0\.0\.1:(\d+)/);
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


// POST a JSON body to PATH; resolves {status, headers, body} (body as text).
export function postJson(port, path, body, headers = {}) {
  return request(port, { method: 'POST', path, headers: { 'Content-Type': 'application/json', ...headers }, body });
}

// The JSON payloads of a text/event-stream body, in order, without the final [DONE];
// done is whether [DONE] came last.
export function sseEvents(text) {
  const events = [];
  let done = false;
  for (const block of text.split('\n\n')) {
    const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    if (!data) continue;
    if (data === '[DONE]') { done = true; continue; }
    events.push(JSON.parse(data));
  }
  return { events, done };
}

// Runs `tasks` (functions returning promises) with at most `width` at once; resolves their
// results in order.
export async function pool(tasks, width) {
  const results = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < tasks.length) { const i = next++; results[i] = await tasks[i](); }
  }));
  return results;
}

// The id of the token that `text` is alone (e.g. '"'), from `sluice tokenize --raw`; throws
// when the text is not exactly one token of the model.
export async function singleTokenId(modelPath, text) {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(BIN, ['tokenize', '--raw', '-m', modelPath], { input: text });
  const ids = out.toString().trim().split(/\s+/).map(Number);
  if (ids.length !== 1) throw new Error(`${JSON.stringify(text)} is ${ids.length} tokens in ${modelPath}`);
  return ids[0];
}

// The ids of those of `texts` (special-token text such as '<|im_end|>') that the model has
// as one token, from `sluice tokenize --no-add-special`.
export async function specialTokenIds(modelPath, texts) {
  const { execFileSync } = await import('node:child_process');
  const ids = [];
  for (const t of texts) {
    const out = execFileSync(BIN, ['tokenize', '--no-add-special', '-m', modelPath], { input: t }).toString().trim().split(/\s+/);
    if (out.length === 1) ids.push(Number(out[0]));
  }
  return ids;
}

// The options of `sluice serve`, read from the binary's own --help: a Map from the long name
// ('port') to {arg: whether it takes a value, def: its default as printed or undefined,
// short: the one-letter alias or undefined}. Tests that check configuration files against
// sluice (deploy/, packaging/) use this, not copies of the flags.
export async function serveOptions() {
  const { execFileSync } = await import('node:child_process');
  const help = execFileSync(BIN, ['serve', '--help']).toString();
  const options = new Map();
  for (const line of help.split('\n')) {
    const m = line.match(/^ {2}(?:-(\w) \[ )?--([a-z][\w-]*)(?: \])?( arg)?(?: \(=([^)]*)\))?(?:\s|$)/);
    if (m) options.set(m[2], { short: m[1], arg: Boolean(m[3]), def: m[4] });
  }
  if (!options.has('port') || !options.has('shutdown-timeout')) throw new Error(`unexpected serve --help:\n${help}`);
  return options;
}

// Parses a `sluice serve` argument list the way the binary would, against serveOptions():
// a Map from long name to its values. Throws on an option sluice does not have or a missing
// value, so a typo in a unit file or manifest fails the test.
export function parseServeArgs(args, options) {
  const byShort = new Map([...options].filter(([, o]) => o.short).map(([name, o]) => [o.short, name]));
  const out = new Map();
  for (let i = 0; i < args.length; ++i) {
    const a = args[i];
    let name, value;
    if (a.startsWith('--')) {
      [name, value] = a.slice(2).split(/=(.*)/s);
    } else if (/^-\w$/.test(a)) {
      name = byShort.get(a[1]);
    } else {
      throw new Error(`positional argument ${JSON.stringify(a)}: sluice serve takes none`);
    }
    const o = options.get(name);
    if (!o) throw new Error(`sluice serve has no option ${JSON.stringify(a)}`);
    if (o.arg && value === undefined) {
      if (i + 1 >= args.length) throw new Error(`${a} needs a value`);
      value = args[++i];
    }
    if (!o.arg && value !== undefined) throw new Error(`${a} takes no value`);
    out.set(name, [...(out.get(name) ?? []), value ?? true]);
  }
  return out;
}

// The value of option `name` in parsed arguments, else its default from --help.
export function serveOption(parsed, options, name) {
  const v = parsed.get(name);
  return v ? v.at(-1) : options.get(name)?.def;
}
