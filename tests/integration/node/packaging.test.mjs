// packaging/: the systemd unit, the Dockerfile and the `cmake --install` layout, checked
// against the built sluice. Docker images cannot be built here (no registry), so the
// Dockerfile is checked statically, except its HEALTHCHECK command, which runs for real
// against a server. The unit's ExecStart runs for real too (with its credential and state
// directories made up), and `systemd-analyze verify` checks the installed unit when present.
// Needs SLUICE_BINARY; the install test needs the build directory (SLUICE_BUILD_DIR, else
// the binary's directory); servers need SLUICE_SHARED's stories260K.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, request, serveOptions, parseServeArgs, serveOption } from './helpers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
const SHARED = process.env.SLUICE_SHARED || '../shared';
const STORIES = `${SHARED}/models/stories260K.gguf`;
const required = process.env.SLUICE_REQUIRE_SHARED === '1';
const skipServed = !fs.existsSync(STORIES) && !required ? `shared data not found under ${SHARED}` : false;
const BUILD = process.env.SLUICE_BUILD_DIR || path.dirname(process.env.SLUICE_BINARY || '.');
const skipInstall = !fs.existsSync(path.join(BUILD, 'CMakeCache.txt')) ? `no CMake build directory at ${BUILD} (set SLUICE_BUILD_DIR)` : false;

const servers = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-packaging-'));
after(() => {
  for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- the Dockerfile ---------------------------------------------------------------------

// Instructions as {op, args, stage}: comment lines dropped, continuations joined.
function dockerfile() {
  const text = fs.readFileSync(path.join(ROOT, 'packaging/Dockerfile'), 'utf8');
  const out = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = pending + raw.trim();
    if (line.endsWith('\\')) { pending = `${line.slice(0, -1)} `; continue; }
    pending = '';
    if (!line) continue;
    const [, op, args] = line.match(/^(\w+)\s+(.*)$/s);
    if (op.toUpperCase() === 'FROM') ++stage;
    out.push({ op: op.toUpperCase(), args, stage });
  }
  return out;
}
const execForm = (s) => JSON.parse(s);

test('Dockerfile: Debian 12 stages, a non-root runtime user, the port it exposes is the one sluice listens on', async () => {
  const ins = dockerfile();
  const froms = ins.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 2, 'multi-stage');
  for (const f of froms) assert.match(f.args, /^debian:bookworm(-slim)?(@sha256:\w+)?( AS \w+)?$/i, f.args);
  const last = froms.at(-1).stage;
  const final = ins.filter((i) => i.stage === last);
  // Only the binary and docs come from the build stage; no compiler in the runtime image.
  assert.ok(final.some((i) => i.op === 'COPY' && /--from=build\b.*\/bin\/sluice/.test(i.args)));
  assert.ok(!final.some((i) => i.op === 'RUN' && /\b(g\+\+|cmake|-dev)\b/.test(i.args)), 'no build tools at run time');
  const build = ins.filter((i) => i.stage === 0);
  assert.ok(build.some((i) => i.op === 'RUN' && /scripts\/setup\.sh/.test(i.args)), 'the build stage uses scripts/setup.sh');

  const users = final.filter((i) => i.op === 'USER');
  assert.equal(users.length, 1);
  const user = users[0].args.split(':')[0];
  assert.ok(!['root', '0'].includes(user), `USER ${user}`);
  assert.ok(final.some((i) => i.op === 'RUN' && new RegExp(`useradd\\b.*\\b${user}\\b`).test(i.args)), `the image creates ${user}`);

  const options = await serveOptions();
  const entry = execForm(final.find((i) => i.op === 'ENTRYPOINT').args);
  const cmd = execForm(final.find((i) => i.op === 'CMD').args);
  assert.deepEqual(entry.slice(0, 2), ['/usr/bin/sluice', 'serve']);
  const parsed = parseServeArgs([...entry.slice(2), ...cmd], options);
  const port = serveOption(parsed, options, 'port');
  assert.equal(serveOption(parsed, options, 'host'), '0.0.0.0', 'reachable through the published port');
  const exposed = final.filter((i) => i.op === 'EXPOSE').map((i) => i.args.split('/')[0]);
  assert.deepEqual(exposed, [port]);
  assert.ok(!parsed.has('api-key'), 'no key in argv');
  assert.match(serveOption(parsed, options, 'model'), /^\/models\//, 'the model from the /models mount');
  const dataDir = serveOption(parsed, options, 'data-dir');
  assert.ok(final.some((i) => i.op === 'VOLUME' && i.args.includes(dataDir)), `--data-dir ${dataDir} is a volume`);

  const hc = final.find((i) => i.op === 'HEALTHCHECK');
  assert.ok(hc, 'HEALTHCHECK');
  const probe = execForm(hc.args.replace(/^(--\S+\s+)*CMD\s+/, ''));
  assert.match(probe.join(' '), new RegExp(`/dev/tcp/127\\.0\\.0\\.1/${port}\\b`), 'it probes the port sluice listens on');
  assert.match(probe.join(' '), /GET \/health /);
});

test('Dockerfile: the runtime packages provide every library the binary links', () => {
  const ins = dockerfile();
  const last = ins.at(-1).stage;
  const install = ins.filter((i) => i.stage === last && i.op === 'RUN').map((i) => i.args).join(' ');
  const listed = install.match(/apt-get install[^&]*/)[0].split(/\s+/).filter((w) => /^[a-z0-9][a-z0-9.+-]+$/.test(w) && w !== 'apt-get' && w !== 'install');
  // What those packages pull in (their dependencies' closure, from this Debian 12 machine's
  // package database), and what debian:bookworm-slim already has.
  const provided = new Set(['libc6', 'libgcc-s1', 'libstdc++6']);
  const todo = [...listed];
  while (todo.length) {
    const p = todo.pop();
    if (provided.has(p)) continue;
    provided.add(p);
    const deps = spawnSync('dpkg-query', ['-W', '-f=${Depends},${Pre-Depends}', p]).stdout?.toString() ?? '';
    for (const d of deps.split(',')) {
      const name = d.trim().split(/[\s:|]/)[0];
      if (name) todo.push(name);
    }
  }
  const libs = execFileSync('ldd', [process.env.SLUICE_BINARY]).toString().split('\n')
    .map((l) => l.match(/=> (\/\S+)/)?.[1]).filter(Boolean);
  assert.ok(libs.length > 5, 'ldd listed the libraries');
  // dpkg knows a file by the path its package ships (/lib or /usr/lib on a merged-/usr
  // system): ask for every spelling of each library at once.
  const spellings = (lib) => [...new Set([lib, fs.realpathSync(lib)].flatMap((p) => [p, p.replace(/^\/usr\//, '/'), p.replace(/^\/(lib|lib64)\//, '/usr/$1/')]))];
  const owners = new Map();
  const listing = spawnSync('dpkg', ['-S', ...libs.flatMap(spellings)]).stdout.toString();
  for (const line of listing.split('\n')) {
    const m = line.match(/^([^:,\s]+)(?::\w+)?: (\/\S+)$/);
    if (m) owners.set(m[2], m[1]);
  }
  const missing = [];
  for (const lib of libs) {
    const owner = spellings(lib).map((p) => owners.get(p)).find(Boolean);
    assert.ok(owner, `no package owns ${lib}`);
    if (!provided.has(owner)) missing.push(`${lib} (${owner})`);
  }
  assert.deepEqual(missing, [], 'libraries no runtime package provides');
});

test('Dockerfile: its HEALTHCHECK command passes against a ready sluice and fails without one', { skip: skipServed }, async () => {
  const ins = dockerfile();
  const hc = ins.filter((i) => i.op === 'HEALTHCHECK').at(-1);
  const probe = execForm(hc.args.replace(/^(--\S+\s+)*CMD\s+/, ''));
  const srv = await startServer(['-m', STORIES, '--api-key', 'k']);
  servers.push(srv);
  const on = (port) => probe.map((a) => a.replace(/\/dev\/tcp\/127\.0\.0\.1\/\d+/, `/dev/tcp/127.0.0.1/${port}`));
  const run = (argv) => spawnSync(argv[0], argv.slice(1), { timeout: 5000 });
  assert.equal(run(on(srv.port)).status, 0, 'healthy while serving');
  srv.kill('SIGKILL');
  await new Promise((r) => srv.on('exit', r));
  assert.notEqual(run(on(srv.port)).status, 0, 'unhealthy with nothing listening');
});

// ---- the systemd unit -------------------------------------------------------------------

// [Section] Key=Value with continuation lines: {Service: {ExecStart: [...], ...}, ...}.
function unitFile(file) {
  const sections = {};
  let section = null;
  let pending = '';
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*[#;]/.test(raw)) continue;
    const line = pending + raw.trim();
    if (line.endsWith('\\')) { pending = `${line.slice(0, -1)} `; continue; }
    pending = '';
    if (!line) continue;
    const s = line.match(/^\[(\w+)\]$/);
    if (s) { section = sections[s[1]] = {}; continue; }
    const [, key, value] = line.match(/^(\w+)=(.*)$/);
    (section[key] ??= []).push(value);
  }
  return sections;
}
const unit = () => unitFile(path.join(ROOT, 'packaging/sluice.service')).Service;
const one = (svc, key) => { assert.equal(svc[key]?.length, 1, key); return svc[key][0]; };

test('sluice.service: hardening, credentials, state directory and stop timing agree with sluice serve', async () => {
  const svc = unit();
  for (const [k, v] of Object.entries({ DynamicUser: 'yes', ProtectSystem: 'strict', NoNewPrivileges: 'yes', ProtectHome: 'yes',
                                        PrivateTmp: 'yes', PrivateDevices: 'yes', RestrictSUIDSGID: 'yes', CapabilityBoundingSet: '' })) {
    assert.equal(one(svc, k), v, k);
  }
  const options = await serveOptions();
  const argv = one(svc, 'ExecStart').split(/\s+/);
  assert.equal(argv[0], '/usr/bin/sluice');
  assert.equal(argv[1], 'serve');
  const parsed = parseServeArgs(argv.slice(2), options);
  assert.ok(!parsed.has('api-key'), 'no key in argv');
  const [credential] = one(svc, 'LoadCredential').split(':');
  assert.equal(serveOption(parsed, options, 'api-key-file'), `%d/${credential}`, 'the key file is the loaded credential');
  assert.equal(serveOption(parsed, options, 'data-dir'), `%S/${one(svc, 'StateDirectory')}`, '--data-dir is the StateDirectory');
  const drain = Number(serveOption(parsed, options, 'shutdown-timeout'));
  const stop = Number(one(svc, 'TimeoutStopSec'));
  assert.ok(stop > drain, `TimeoutStopSec ${stop} > --shutdown-timeout ${drain}`);
  assert.equal(one(svc, 'ExecReload'), '/bin/kill -HUP $MAINPID');
});

test('sluice.service: its ExecStart runs, reading the keys from the credential (comments are not keys)', { skip: skipServed }, async (t) => {
  const svc = unit();
  const options = await serveOptions();
  const credDir = fs.mkdtempSync(path.join(tmp, 'credentials-'));
  const stateDir = fs.mkdtempSync(path.join(tmp, 'state-'));
  const [credential] = one(svc, 'LoadCredential').split(':');
  fs.writeFileSync(path.join(credDir, credential), '# clients\nunit-key-1\n  # an indented note\n\tunit-key-2  \n\n');
  fs.mkdirSync(path.join(stateDir, one(svc, 'StateDirectory')));
  const argv = one(svc, 'ExecStart').replaceAll('%d', credDir).replaceAll('%S', stateDir).split(/\s+/).slice(2);
  // The unit's own arguments, but on a free loopback port with the test model.
  const parsed = parseServeArgs(argv, options);
  for (const k of ['host', 'port', 'model']) parsed.delete(k);
  const args = [...parsed].flatMap(([k, vs]) => vs.flatMap((v) => (v === true ? [`--${k}`] : [`--${k}`, v])));
  const srv = await startServer([...args, '-m', STORIES]);
  servers.push(srv);
  const models = (key) => request(srv.port, { path: '/v1/models', headers: key ? { Authorization: `Bearer ${key}` } : {} });
  assert.equal((await models('unit-key-1')).status, 200);
  assert.equal((await models('unit-key-2')).status, 200, 'surrounding blanks are not part of a key');
  assert.equal((await models()).status, 401);
  assert.equal((await models('# an indented note')).status, 401, 'an indented comment is not a key');
  assert.ok(fs.readdirSync(path.join(stateDir, one(svc, 'StateDirectory'))).length > 0, 'the store lives in the state directory');
  // ExecReload sends SIGHUP (certificate reload): it must not stop the server. The handler
  // comes with --tls-cert (issue 16's serving work); a build without it dies of the signal.
  if (options.has('tls-cert')) {
    srv.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await models('unit-key-1')).status, 200, 'still serving after systemctl reload');
  } else {
    t.diagnostic('this build has no --tls-cert: ExecReload (SIGHUP) not exercised');
  }
  srv.kill('SIGTERM');
  assert.equal(await new Promise((r) => srv.on('exit', r)), 0);
});

// ---- cmake --install ----------------------------------------------------------------------

test('cmake --install: bin/sluice, the docs and the unit file pointing at the installed binary', { skip: skipInstall }, () => {
  const prefix = path.join(tmp, 'prefix');
  execFileSync('cmake', ['--install', BUILD, '--prefix', prefix], { stdio: 'pipe' });
  const bin = path.join(prefix, 'bin/sluice');
  assert.match(execFileSync(bin, ['serve', '--help']).toString(), /--shutdown-timeout/);
  const docs = fs.readdirSync(path.join(prefix, 'share/doc/sluice'));
  for (const d of ['README.md', 'operations.md', 'security.md', 'scaling.md', 'api.md']) assert.ok(docs.includes(d), `${d} in ${docs}`);
  const unitPath = path.join(prefix, 'lib/systemd/system/sluice.service');
  const installed = unitFile(unitPath).Service;
  assert.equal(one(installed, 'ExecStart').split(/\s+/)[0], bin);
  // Everything but the paths is the packaging/ file.
  const strip = (s) => s.replaceAll(bin, 'BIN').replaceAll(path.join(prefix, 'share/doc/sluice'), 'DOC');
  assert.equal(strip(fs.readFileSync(unitPath, 'utf8')),
               fs.readFileSync(path.join(ROOT, 'packaging/sluice.service'), 'utf8').replaceAll('/usr/bin/sluice', 'BIN').replaceAll('/usr/share/doc/sluice', 'DOC'));
});

test('systemd-analyze verify accepts the installed unit without a warning', { skip: skipInstall }, (t) => {
  const prefix = path.join(tmp, 'prefix');
  const unitPath = path.join(prefix, 'lib/systemd/system/sluice.service');
  if (!fs.existsSync(unitPath)) execFileSync('cmake', ['--install', BUILD, '--prefix', prefix], { stdio: 'pipe' });
  const r = spawnSync('systemd-analyze', ['verify', unitPath]);
  if (r.error?.code === 'ENOENT') {
    if (required) assert.fail('systemd-analyze is missing (Debian 12 has it in systemd)');
    t.skip('systemd-analyze not installed');
    return;
  }
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.equal(out.split('\n').filter((l) => l.includes('sluice.service')).join('\n'), '', 'no diagnostics for the unit');
  const sec = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', unitPath]);
  const level = `${sec.stdout}`.match(/Overall exposure level for sluice\.service: ([\d.]+)/);
  if (level) {
    t.diagnostic(`systemd-analyze security: exposure ${level[1]}`);
    assert.ok(Number(level[1]) <= 2.0, `exposure ${level[1]} (systemd calls below 2 "OK")`);
  }
});
