// The Kubernetes manifests in deploy/kubernetes, checked offline against sluice itself: they
// parse; the container's arguments are options `sluice serve --help` lists; ports, probes,
// drain timing and the resource sizing agree with those arguments and sluice's defaults; the
// probe paths and the autoscaler's metric are ones the binary really serves. No cluster needed.
// Needs SLUICE_BINARY; the served-paths test needs SLUICE_SHARED's stories260K (skipped
// without it unless SLUICE_REQUIRE_SHARED=1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { startServer, request, serveOptions, parseServeArgs, serveOption } from './helpers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIR = path.resolve(HERE, '../../../deploy/kubernetes');
const SHARED = process.env.SLUICE_SHARED || '../shared';
const STORIES = `${SHARED}/models/stories260K.gguf`;
const required = process.env.SLUICE_REQUIRE_SHARED === '1';
const skipServed = !fs.existsSync(STORIES) && !required ? `shared data not found under ${SHARED}` : false;

const docs = [];  // {file, doc}
let options;      // sluice serve's options
const MIB = 2 ** 20;

before(async () => {
  options = await serveOptions();
  for (const file of fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of YAML.parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8'))) {
      if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      if (d.warnings.length) throw new Error(`${file}: ${d.warnings.map((e) => e.message).join('; ')}`);
      docs.push({ file, doc: d.toJS({ maxAliasCount: 0 }) });
    }
  }
});

const one = (kind) => {
  const found = docs.filter((d) => d.doc.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind} in ${DIR}`);
  return found[0].doc;
};
const deployment = () => one('Deployment');
const container = () => {
  const cs = deployment().spec.template.spec.containers;
  assert.equal(cs.length, 1);
  return cs[0];
};
const args = () => {
  const c = container();
  assert.deepEqual(c.command, ['/usr/bin/sluice', 'serve'], 'the binary packaging/Dockerfile installs');
  return parseServeArgs(c.args, options);
};
const opt = (name) => serveOption(args(), options, name);

// Kubernetes quantities: "11Gi" -> bytes, "8" / "500m" -> cores.
function bytes(q) {
  const m = String(q).match(/^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/);
  assert.ok(m, `memory quantity ${q}`);
  const scale = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] ?? 1;
  return Number(m[1]) * scale;
}
function cores(q) {
  const m = String(q).match(/^(\d+(?:\.\d+)?)(m)?$/);
  assert.ok(m, `cpu quantity ${q}`);
  return Number(m[1]) / (m[2] ? 1000 : 1);
}
const matches = (selector, labels) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

test('every manifest parses, names its kind, and the set is complete', () => {
  for (const { file, doc } of docs) {
    assert.ok(doc.apiVersion && doc.kind && doc.metadata?.name, `${file}: apiVersion, kind, metadata.name`);
  }
  for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'ServiceMonitor', 'HorizontalPodAutoscaler']) one(kind);
});

test('container arguments are sluice serve options; keys come from a Secret file, never argv', () => {
  const a = args();  // throws on an unknown option or a missing value
  assert.ok(!a.has('api-key'), 'keys in argv show in the pod spec and to ps');
  assert.ok(!(container().env ?? []).some((e) => e.name === 'SLUICE_API_KEY' && e.value), 'no literal key in env');
  const keyFile = opt('api-key-file');
  const mounts = container().volumeMounts;
  const mount = mounts.find((m) => keyFile.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `a volume mounted over ${keyFile}`);
  assert.equal(mount.readOnly, true);
  const vol = deployment().spec.template.spec.volumes.find((v) => v.name === mount.name);
  assert.ok(vol.secret, `${keyFile} comes from a Secret`);
  const item = vol.secret.items.find((i) => `${mount.mountPath}/${i.path}` === keyFile);
  assert.ok(item, `the Secret's item is mounted at ${keyFile}`);
  // The example Secret has the item, and the ServiceMonitor's key too.
  const secret = docs.find((d) => d.doc.kind === 'Secret' && d.doc.metadata.name === vol.secret.secretName);
  assert.ok(secret, `an example of Secret ${vol.secret.secretName}`);
  assert.ok(item.key in secret.doc.stringData);
  const auth = one('ServiceMonitor').spec.endpoints[0].authorization.credentials;
  assert.equal(auth.name, vol.secret.secretName);
  const keys = secret.doc.stringData[item.key].split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.ok(keys.includes(secret.doc.stringData[auth.key].trim()), "the scraper's key is one sluice accepts");
});

test('ports agree: --port, containerPort, probes, Service and ServiceMonitor', () => {
  const port = Number(opt('port'));
  assert.ok(port > 0);
  assert.notEqual(opt('host'), '127.0.0.1', 'a pod must listen beyond loopback');
  const named = Object.fromEntries(container().ports.map((p) => [p.name, p.containerPort]));
  assert.ok(Object.values(named).includes(port), `containerPort ${port}`);
  const resolve = (p) => (typeof p === 'number' ? p : named[p]);
  for (const probe of ['readinessProbe', 'livenessProbe']) assert.equal(resolve(container()[probe].httpGet.port), port, probe);
  const svc = one('Service');
  assert.ok(matches(svc.spec.selector, deployment().spec.template.metadata.labels), 'Service selects the pods');
  const svcPort = svc.spec.ports.find((p) => resolve(p.targetPort) === port);
  assert.ok(svcPort, 'a Service port targets sluice');
  const sm = one('ServiceMonitor');
  assert.ok(matches(sm.spec.selector.matchLabels, svc.metadata.labels), 'ServiceMonitor selects the Service');
  assert.equal(sm.spec.endpoints[0].port, svcPort.name);
});

test('probes: readiness on /health, liveness on /livez', () => {
  assert.equal(container().readinessProbe.httpGet.path, '/health');
  assert.equal(container().livenessProbe.httpGet.path, '/livez');
  // Liveness must not restart a pod that is only loading: it never fails sooner than readiness.
  const live = container().livenessProbe;
  assert.ok(live.periodSeconds * live.failureThreshold >= 30, 'liveness tolerates 30 s without an answer');
});

test('drain: the grace period outlasts preStop plus --shutdown-timeout', () => {
  const drain = Number(opt('shutdown-timeout'));
  assert.ok(drain > 0);
  const pre = container().lifecycle.preStop;
  const sleep = pre.sleep ? pre.sleep.seconds : (() => {
    assert.equal(pre.exec.command[0], 'sleep');
    return Number(pre.exec.command[1]);
  })();
  assert.ok(sleep > 0, 'a preStop pause lets endpoints drop the pod before SIGTERM');
  const grace = deployment().spec.template.spec.terminationGracePeriodSeconds;
  assert.ok(grace > sleep + drain, `grace ${grace} s > preStop ${sleep} s + drain ${drain} s`);
  assert.equal(deployment().spec.strategy.rollingUpdate.maxUnavailable, 0);
});

test('resources are sized from the model, the way sluice spends memory and threads', () => {
  const ann = deployment().metadata.annotations;
  const modelBytes = Number(ann['sluice.example/model-bytes']);
  const perPosition = Number(ann['sluice.example/kv-bytes-per-position']);
  const overhead = Number(ann['sluice.example/overhead-mib']) * MIB;
  assert.ok(modelBytes > 0 && perPosition > 0 && overhead > 0, JSON.stringify(ann));
  // --kv-memory must be explicit: the default reads /proc/meminfo, the node's, not the pod's.
  assert.ok(args().has('kv-memory'));
  const kv = Number(opt('kv-memory')) * MIB;
  const parallel = Number(opt('parallel'));
  const ctx = Number(opt('ctx-size'));
  const cache = Number(opt('cache-ram')) * MIB;
  assert.ok(parallel > 0 && ctx > 0);
  assert.ok(kv >= parallel * ctx * perPosition + cache,
            `--kv-memory ${kv / MIB} MiB holds ${parallel} full contexts of ${ctx} (${parallel * ctx * perPosition / MIB} MiB) + cache ${cache / MIB} MiB`);
  const { requests, limits } = container().resources;
  const need = modelBytes + kv + overhead;
  assert.ok(bytes(requests.memory) >= need, `memory request ${requests.memory} >= ${(need / MIB).toFixed(0)} MiB`);
  assert.ok(bytes(requests.memory) < need * 1.25, `memory request ${requests.memory} is not far beyond ${(need / MIB).toFixed(0)} MiB`);
  assert.equal(bytes(limits.memory), bytes(requests.memory), 'memory limit = request');
  const threads = Number(opt('threads'));
  assert.ok(threads > 0, '--threads explicit: the default counts the node\'s cores');
  assert.ok(cores(requests.cpu) >= threads + 1, `cpu ${requests.cpu} for ${threads} compute threads + the network`);
});

test('the model is a read-only volume; the store and /tmp are the only writable paths', () => {
  const model = opt('model');
  const mounts = container().volumeMounts;
  const mount = mounts.find((m) => model.startsWith(`${m.mountPath}/`));
  assert.ok(mount && mount.readOnly === true, `${model} on a read-only mount`);
  const vol = deployment().spec.template.spec.volumes.find((v) => v.name === mount.name);
  assert.equal(vol.persistentVolumeClaim?.readOnly, true);
  const sc = container().securityContext;
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(deployment().spec.template.spec.securityContext.runAsNonRoot, true);
  const dataDir = opt('data-dir');
  assert.ok(mounts.some((m) => m.mountPath === dataDir && !m.readOnly), `--data-dir ${dataDir} is a writable mount`);
});

test('disruption budget and autoscaler fit the Deployment', () => {
  const pdb = one('PodDisruptionBudget');
  assert.ok(matches(pdb.spec.selector.matchLabels, deployment().spec.template.metadata.labels));
  const hpa = one('HorizontalPodAutoscaler');
  assert.equal(hpa.spec.scaleTargetRef.kind, 'Deployment');
  assert.equal(hpa.spec.scaleTargetRef.name, deployment().metadata.name);
  assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.minReplicas <= deployment().spec.replicas);
  assert.ok(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable < hpa.spec.minReplicas, 'a node drain can proceed');
  // The adapter rule publishes exactly the metric the autoscaler asks for.
  const metric = hpa.spec.metrics[0].pods.metric.name;
  const adapter = YAML.parse(docs.find((d) => d.doc.kind === 'ConfigMap' && d.doc.data?.['config.yaml']).doc.data['config.yaml']);
  const rule = adapter.rules.find((r) => r.name.as === metric);
  assert.ok(rule, `an adapter rule names ${metric}`);
  assert.ok(new RegExp(rule.name.matches).test(metric));
  assert.ok(rule.seriesQuery.startsWith(`${metric}{`), rule.seriesQuery);
  assert.deepEqual(Object.keys(rule.resources.overrides).sort(), ['namespace', 'pod']);
});

let srv;
after(() => { if (srv && srv.exitCode === null) srv.kill('SIGKILL'); });

test('the probe paths and the scraped metric are ones sluice serves', { skip: skipServed }, async (t) => {
  const key = 'deploy-test-key';
  srv = await startServer(['-m', STORIES, '--api-key', key]);
  const c = container();
  const ready = await request(srv.port, { path: c.readinessProbe.httpGet.path });
  assert.equal(ready.status, 200, 'readiness answers 200 without a key once the model is loaded');
  const live = await request(srv.port, { path: c.livenessProbe.httpGet.path });
  const known = await request(srv.port, { path: c.livenessProbe.httpGet.path, headers: { Authorization: `Bearer ${key}` } });
  if (known.status === 404) {
    // /livez comes with issue 16's serving work; until that is in this binary, say so.
    t.diagnostic(`${c.livenessProbe.httpGet.path} is not served by this build yet (404)`);
  } else {
    assert.equal(live.status, 200, 'liveness answers 200 without a key');
  }
  const sm = one('ServiceMonitor').spec.endpoints[0];
  const m = await request(srv.port, { path: sm.path, headers: { Authorization: `Bearer ${key}` } });
  assert.equal(m.status, 200);
  const metric = one('HorizontalPodAutoscaler').spec.metrics[0].pods.metric.name;
  assert.match(m.body, new RegExp(`^# TYPE ${metric} gauge$`, 'm'), `sluice serves ${metric} as a gauge`);
  assert.match(m.body, new RegExp(`^${metric} \\d+$`, 'm'), 'one series without labels: one value per pod');
  srv.kill('SIGKILL');
});
