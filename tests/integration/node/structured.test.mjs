// Structured output end to end: response_format json_schema on models with random weights
// (they have no idea of JSON), checked with ajv, a validator that shares no code with
// sluice. Needs SLUICE_BINARY and SLUICE_SHARED.
//
// A random model almost never samples the token that closes a JSON string (1 in ~150k per
// step), so a free string would run to max_tokens; the test raises that token with
// logit_bias (the grammar still decides where it may appear). A `length` finish is counted
// as a valid prefix, not as a pass; every `stop` finish must parse and validate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { startServer, request } from './helpers.mjs';

const SHARED = process.env.SLUICE_SHARED || '../shared';
const MODELS = ['qwen3-Q4_0', 'llama3-Q6_K'];
const SCHEMAS_DIR = `${SHARED}/schemas`;
const required = process.env.SLUICE_REQUIRE_SHARED === '1';
const haveData = fs.existsSync(SCHEMAS_DIR) && MODELS.every((m) => fs.existsSync(`${SHARED}/models/${m}.gguf`));
const skip = !haveData && !required ? `shared data not found under ${SHARED}` : false;
const N_SCHEMAS = Number(process.env.SLUICE_STRUCTURED_SCHEMAS || 100);
const SEEDS = [1, 2, 3];

const servers = {};

before(async () => {
  if (skip) return;
  for (const m of MODELS) servers[m] = await startServer(['-m', `${SHARED}/models/${m}.gguf`, '--parallel', '8', '--ctx-size', '2048']);
});

after(() => {
  for (const s of Object.values(servers)) if (s.exitCode_ === undefined) s.kill('SIGKILL');
});

function quoteToken(model) {
  const out = execFileSync(process.env.SLUICE_BINARY, ['tokenize', '--raw', '-m', `${SHARED}/models/${model}.gguf`], { input: '"' });
  const ids = out.toString().trim().split(/\s+/).map(Number);
  assert.equal(ids.length, 1, `'"' is one token in ${model}`);
  return ids[0];
}

function validatorFor(schema) {
  const draft2020 = typeof schema === 'object' && String(schema.$schema || '').includes('2020-12');
  const ajv = draft2020 ? new Ajv2020({ strict: false, allErrors: false, logger: false }) : new Ajv({ strict: false, allErrors: false, logger: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

// Runs `tasks` (functions returning promises) with at most `width` at once.
async function pool(tasks, width) {
  const results = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < tasks.length) { const i = next++; results[i] = await tasks[i](); }
  }));
  return results;
}

function chat(port, schema, seed, quote) {
  return request(port, { method: 'POST', path: '/v1/chat/completions', headers: { 'Content-Type': 'application/json' },
    body: { messages: [{ role: 'user', content: 'Answer in JSON.' }], temperature: 1, seed, max_tokens: 384,
            logit_bias: { [quote]: 30 },
            response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } } } });
}

for (const model of MODELS) {
  test(`${model}: output under response_format json_schema validates with ajv`, { skip, timeout: 1200000 }, async () => {
    const port = servers[model].port;
    const quote = quoteToken(model);
    const files = fs.readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.json')).sort();
    let accepted = 0, refused = 0, stops = 0, lengths = 0;
    const failures = [];
    const tasks = [];
    for (const f of files) {
      if (accepted >= N_SCHEMAS) break;
      const { schema } = JSON.parse(fs.readFileSync(`${SCHEMAS_DIR}/${f}`));
      let validate;
      try { validate = validatorFor(schema); } catch { continue; }  // ajv cannot compile it: no independent check
      const first = await chat(port, schema, SEEDS[0], quote);
      if (first.status === 400 && /schema|grammar/.test(JSON.parse(first.body).error.code || '')) { refused++; continue; }
      assert.equal(first.status, 200, `${f}: ${first.body}`);
      accepted++;
      const check = (res, seed) => {
        assert.equal(res.status, 200, `${f} seed ${seed}: ${res.body}`);
        const choice = JSON.parse(res.body).choices[0];
        if (choice.finish_reason === 'length') { lengths++; return; }
        stops++;
        let value;
        try { value = JSON.parse(choice.message.content); } catch (e) {
          failures.push(`${f} seed ${seed}: not JSON (${e.message}): ${choice.message.content.slice(0, 200)}`); return;
        }
        if (!validate(value)) failures.push(`${f} seed ${seed}: ${JSON.stringify(validate.errors).slice(0, 300)} in ${choice.message.content.slice(0, 200)}`);
      };
      check(first, SEEDS[0]);
      for (const seed of SEEDS.slice(1)) tasks.push(async () => check(await chat(port, schema, seed, quote), seed));
    }
    await pool(tasks, 8);
    console.log(`${model}: ${accepted} schemas accepted, ${refused} refused; ${stops} completions finished (all checked), ${lengths} hit max_tokens`);
    assert.deepEqual(failures, []);
    assert.ok(accepted >= Math.min(N_SCHEMAS, 50), `only ${accepted} schemas accepted`);
    assert.ok(stops >= 0.5 * (stops + lengths), `${stops} of ${stops + lengths} completions finished: too few to say much`);
  });
}

test('json_object, llama-server json_schema and grammar fields; bad schemas and grammars are 400s', { skip }, async () => {
  const port = servers[MODELS[0]].port;
  const quote = quoteToken(MODELS[0]);
  const post = (body) => request(port, { method: 'POST', path: '/v1/chat/completions', headers: { 'Content-Type': 'application/json' },
    body: { messages: [{ role: 'user', content: 'Hi' }], temperature: 1, seed: 7, max_tokens: 256, logit_bias: { [quote]: 30 }, ...body } });
  const obj = await post({ response_format: { type: 'json_object' } });
  assert.equal(obj.status, 200, obj.body);
  const oc = JSON.parse(obj.body).choices[0];
  if (oc.finish_reason === 'stop') assert.equal(typeof JSON.parse(oc.message.content), 'object');
  assert.ok(oc.message.content.startsWith('{'), oc.message.content);

  const en = await post({ json_schema: { enum: ['red', 'green', 'blue'] } });
  assert.equal(en.status, 200, en.body);
  assert.ok(['"red"', '"green"', '"blue"'].includes(JSON.parse(en.body).choices[0].message.content), en.body);
  assert.equal(JSON.parse(en.body).choices[0].finish_reason, 'stop');

  const g = await post({ grammar: 'root ::= "yes" | "no"' });
  assert.equal(g.status, 200, g.body);
  assert.ok(['yes', 'no'].includes(JSON.parse(g.body).choices[0].message.content), g.body);

  // Streaming carries the same constrained text.
  const s = await request(port, { method: 'POST', path: '/v1/completions', headers: { 'Content-Type': 'application/json' },
    body: { prompt: 'x', max_tokens: 16, seed: 3, stream: true, grammar: 'root ::= [0-9]{3} "-" [0-9]{2}' } });
  let text = '';
  for (const e of s.body.split('\n\n')) if (e.startsWith('data: {')) text += JSON.parse(e.slice(6)).choices[0].text;
  assert.match(text, /^[0-9]{3}-[0-9]{2}$/);

  const bad = await post({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: '(a)\\1' } } } });
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.body).error.param, 'response_format.json_schema.schema');
  assert.match(JSON.parse(bad.body).error.message, /pattern/);
  const badGbnf = await post({ grammar: 'root ::= missing' });
  assert.equal(badGbnf.status, 400);
  assert.equal(JSON.parse(badGbnf.body).error.param, 'grammar');
  const two = await post({ grammar: 'root ::= "a"', json_schema: { type: 'string' } });
  assert.equal(two.status, 400);
});
