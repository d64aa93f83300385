// GET /openapi.json and GET /docs against the real binary: public, HEAD like GET, a page
// that loads nothing from elsewhere, every documented operation routed, and the document's
// schemas (compiled with ajv as JSON Schema 2020-12) accepting real requests and the
// server's real answers. Needs SLUICE_BINARY and SLUICE_SHARED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import vm from 'node:vm';
import Ajv2020 from 'ajv/dist/2020.js';
import { startServer, request, postJson } from './helpers.mjs';

const SHARED = process.env.SLUICE_SHARED || '../shared';
const STORIES = `${SHARED}/models/stories260K.gguf`;
const required = process.env.SLUICE_REQUIRE_SHARED === '1';
const skip = !fs.existsSync(STORIES) && !required ? `shared data not found under ${SHARED}` : false;

const KEY = 'openapi-key';
const auth = { Authorization: `Bearer ${KEY}` };
let server, doc, ajv;

before(async () => {
  if (skip) return;
  server = await startServer(['-m', STORIES, '--api-key', KEY, '--ctx-size', '256', '--alias', 'stories']);
  const res = await request(server.port, { path: '/openapi.json' });
  doc = JSON.parse(res.body);
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, 'openapi');
});

after(() => {
  if (server && server.exitCode_ === undefined) server.kill('SIGKILL');
});

// The compiled validator of components.schemas[name].
function validator(name) {
  const v = ajv.getSchema(`openapi#/components/schemas/${name}`);
  assert.ok(v, `no schema ${name}`);
  return v;
}

function assertValid(name, value) {
  const v = validator(name);
  assert.ok(v(value), `${name}: ${JSON.stringify(v.errors)}\n${JSON.stringify(value)}`);
}

test('GET /openapi.json: public OpenAPI 3.1, HEAD like GET', { skip }, async () => {
  const res = await request(server.port, { path: '/openapi.json' });
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^application\/json/);
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.ok(doc.paths['/v1/chat/completions'].post.requestBody);
  const head = await request(server.port, { method: 'HEAD', path: '/openapi.json' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(Number(head.headers['content-length']), Buffer.byteLength(res.body));
  const post = await request(server.port, { method: 'POST', path: '/openapi.json', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(post.status, 405);
});

test('GET /docs: a public, self-contained page', { skip }, async () => {
  const res = await request(server.port, { path: '/docs' });
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/html/);
  assert.match(res.headers['content-security-policy'], /default-src 'none'/);
  assert.match(res.body, /fetch\('openapi\.json'/);
  // Nothing from another origin: no absolute or protocol-relative URL, no external
  // scripts, styles, images or fonts.
  assert.doesNotMatch(res.body, /https?:|\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
  assert.doesNotMatch(res.body, /<(script|img|iframe|link)[^>]+(src|href)=/i);
  assert.doesNotMatch(res.body, /@import|url\(/i);
  const head = await request(server.port, { method: 'HEAD', path: '/docs' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(Number(head.headers['content-length']), Buffer.byteLength(res.body));
});

test('every documented operation is routed', { skip }, async () => {
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item)) {
      const target = path.replaceAll('{id}', 'resp_missing');
      const options = { method: method.toUpperCase(), path: target, headers: { ...auth } };
      if (method === 'post') {
        options.headers['Content-Type'] = 'application/json';
        options.body = '{}';
      }
      const res = await request(server.port, options);
      assert.notEqual(res.status, 405, `${method} ${path}`);
      if (res.status === 404) assert.doesNotMatch(res.body, /unknown_url/, `${method} ${path}`);
      if (item[method].security === undefined) {
        const open = await request(server.port, { ...options, headers: { 'Content-Type': 'application/json' } });
        assert.equal(open.status, 401, `${method} ${path} without a key`);
      }
    }
  }
});

test('the request schemas accept real requests', { skip }, () => {
  assertValid('ChatCompletionRequest', { model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, temperature: 0.2,
    stop: ['\n'], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], tool_choice: 'auto' });
  assertValid('CompletionRequest', { prompt: [1, 2, 3], max_tokens: 4, logprobs: 2, mirostat: 0 });
  assertValid('MessagesRequest', { model: 'm', max_tokens: 8, system: [{ type: 'text', text: 'be brief' }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }], tool_choice: { type: 'auto' }, thinking: { type: 'disabled' } });
  assertValid('ResponsesRequest', { input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hi' }] }], reasoning: { effort: 'low' },
    text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object' } } } });
  assert.equal(validator('ChatCompletionRequest')({ messages: [{ role: 'user', content: 'Hi' }], temperature: 3 }), false);
  assert.equal(validator('MessagesRequest')({ model: 'm', messages: [] }), false);
});

test('the answer schemas accept the server\'s answers', { skip }, async () => {
  const models = await request(server.port, { path: '/v1/models', headers: auth });
  assertValid('ModelList', JSON.parse(models.body));
  const chat = await postJson(server.port, '/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }, auth);
  assert.equal(chat.status, 200);
  assertValid('ChatCompletion', JSON.parse(chat.body));
  const comp = await postJson(server.port, '/v1/completions', { prompt: 'Once', max_tokens: 4 }, auth);
  assertValid('Completion', JSON.parse(comp.body));
  const msg = await postJson(server.port, '/v1/messages', { model: 'm', max_tokens: 4, messages: [{ role: 'user', content: 'Hi' }] }, auth);
  assert.equal(msg.status, 200);
  assertValid('Message', JSON.parse(msg.body));
  const count = await postJson(server.port, '/v1/messages/count_tokens', { model: 'm', messages: [{ role: 'user', content: 'Hi' }] }, auth);
  assertValid('InputTokens', JSON.parse(count.body));
  const resp = await postJson(server.port, '/v1/responses', { input: 'Hi', max_output_tokens: 4, store: false }, auth);
  assert.equal(resp.status, 200);
  assertValid('Response', JSON.parse(resp.body));
  const tok = await postJson(server.port, '/tokenize', { content: 'Hello', with_pieces: true }, auth);
  assertValid('TokenizeResponse', JSON.parse(tok.body));
  const detok = await postJson(server.port, '/detokenize', { tokens: [1, 2] }, auth);
  assertValid('DetokenizeResponse', JSON.parse(detok.body));
  const health = await request(server.port, { path: '/health' });
  assertValid('Health', JSON.parse(health.body));
  const bad = await postJson(server.port, '/v1/chat/completions', { messages: [], temperature: 9 }, auth);
  assert.equal(bad.status, 400);
  assertValid('OpenAIError', JSON.parse(bad.body));
  const badAnthropic = await postJson(server.port, '/v1/messages', { model: 'm' }, auth);
  assert.equal(badAnthropic.status, 400);
  assertValid('AnthropicError', JSON.parse(badAnthropic.body));
});

// Just enough of a DOM for the page's script: elements with children, classes, dataset,
// textContent and the three selectors it uses.
class FakeElement {
  constructor(tag) { Object.assign(this, { tag, children: [], className: '', dataset: {}, style: {}, text: '', listeners: {}, value: '' }); }
  set textContent(t) { this.text = t; this.children = []; }
  get textContent() { return this.text + this.children.map((c) => c.textContent).join(''); }
  appendChild(c) { this.children.push(c); return c; }
  addEventListener(name, f) { this.listeners[name] = f; }
  descendants() { return this.children.flatMap((c) => [c, ...c.descendants()]); }
  querySelectorAll(selector) {
    const tests = { 'tr': (e) => e.tag === 'tr', 'tr[data-search]': (e) => e.tag === 'tr' && e.dataset.search !== undefined,
      'details.op': (e) => e.tag === 'details' && e.className.split(' ').includes('op') };
    assert.ok(tests[selector], `selector ${selector}`);
    return this.descendants().filter(tests[selector]);
  }
}

test('the /docs page renders every operation and filters fields', { skip }, async () => {
  const page = (await request(server.port, { path: '/docs' })).body;
  const script = page.slice(page.indexOf('<script>') + 8, page.indexOf('</script>'));
  const ids = Object.fromEntries(['title', 'intro', 'ops', 'filter'].map((id) => [id, new FakeElement(id)]));
  const fetched = [];
  const fetch = async (url) => {
    fetched.push(url);
    const res = await request(server.port, { path: `/${url}` });
    return { ok: res.status === 200, status: res.status, json: async () => JSON.parse(res.body) };
  };
  const document = { createElement: (tag) => new FakeElement(tag), getElementById: (id) => ids[id],
    querySelectorAll: (selector) => ids.ops.querySelectorAll(selector) };
  vm.runInContext(script, vm.createContext({ document, fetch }));
  for (let i = 0; i < 100 && ids.ops.children.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(fetched, ['openapi.json']);
  assert.match(ids.title.textContent, /OpenAPI 3\.1/);
  const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  assert.equal(ids.ops.querySelectorAll('details.op').length, operations);
  assert.match(ids.ops.textContent, /mirostat is not supported/);
  ids.filter.value = 'budget_tokens';
  ids.filter.listeners.input();
  const shown = ids.ops.querySelectorAll('details.op').filter((d) => d.style.display !== 'none');
  assert.deepEqual(shown.map((d) => d.dataset.head.split(' ')[0]).sort(), ['/v1/messages', '/v1/messages/count_tokens']);
});
