// Tool calling end to end on four model families (Hermes: Qwen 2.5 and Qwen 3 with <think>;
// Llama 3.1's bare JSON; SmolLM2's template, which has no tools, through sluice's generic
// JSON envelope). The models have random weights: whatever they call, it is the grammar
// behind tool_choice "required" / a named function that makes it well formed, so every
// argument object is checked with ajv (which shares no code with sluice) against the tool's
// `parameters`, and every streamed answer is compared with the non-streamed answer for the
// same seed. Needs SLUICE_BINARY and SLUICE_SHARED.
//
// As in structured.test.mjs, the token that closes a JSON string gets a +30 logit_bias (a
// random model almost never samples it), and a `length` finish is counted, not checked:
// only a small fraction may end that way. Where calls are enforced, the end-of-turn tokens
// get +20 too: the grammar allows them only after complete calls, and without the bias a
// random model given parallel_tool_calls goes on writing calls until max_tokens. For the same
// reason the tokens that glue a call's end to what would start the next one ('>\n' after
// </tool_call>, '}}\n', '\n', ';') and '.' (an integer may be written 7.000...) get -100: the
// grammar still has other spellings of the same text, and a bias never forbids a token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import Ajv from 'ajv';
import { startServer, postJson, sseEvents, pool, singleTokenId, specialTokenIds } from './helpers.mjs';

const SHARED = process.env.SLUICE_SHARED || '../shared';
const ALL_MODELS = ['qwen2-Q4_K_M', 'qwen3-Q4_0', 'llama3-Q6_K', 'smollm2-Q8_0'];
const MODELS = process.env.SLUICE_TOOLS_MODELS ? ALL_MODELS.filter((m) => process.env.SLUICE_TOOLS_MODELS.split(',').includes(m)) : ALL_MODELS;
const path = (m) => `${SHARED}/models/${m}.gguf`;
const required = process.env.SLUICE_REQUIRE_SHARED === '1';
const haveData = MODELS.every((m) => fs.existsSync(path(m)));
const skip = !haveData && !required ? `shared models not found under ${SHARED}/models` : false;
const N_SEEDS = Number(process.env.SLUICE_TOOLS_SEEDS || 50);
const WIDTH = 8;           // requests in flight per server (--parallel 4: four run, four wait)
const MAX_TOKENS = 200;
// Of the completions, at most this share may hit max_tokens (SmolLM2's random weights
// outweigh even +30 on the quote for some seeds: ~20% of its strings run on).
const MAX_LENGTH_SHARE = 0.25;

const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather and forecast for a city',
    parameters: { type: 'object', additionalProperties: false, required: ['city'],
      properties: { city: { type: 'string', description: 'City name' },
                    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
                    days: { type: 'integer', minimum: 1, maximum: 7 } } } } },
  { type: 'function', function: { name: 'search_flights', description: 'Find flights between two airports', strict: true,
    parameters: { type: 'object', additionalProperties: false, required: ['origin', 'destination', 'date'],
      properties: { origin: { type: 'string', pattern: '^[A-Z]{3}$' },
                    destination: { type: 'string', pattern: '^[A-Z]{3}$' },
                    date: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
                    passengers: { type: 'integer', minimum: 1, maximum: 9 },
                    cabin: { type: 'string', enum: ['economy', 'business', 'first'] },
                    nonstop: { type: 'boolean' } } } } },
  { type: 'function', function: { name: 'send_email', description: 'Send an email',
    parameters: { type: 'object', additionalProperties: false, required: ['to', 'subject'],
      properties: { to: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 3 },
                    subject: { type: 'string', maxLength: 40 },
                    body: { type: 'string' },
                    priority: { type: 'string', enum: ['low', 'normal', 'high'] } } } } },
];
const ajv = new Ajv({ strict: false, allErrors: false, logger: false });
const validators = Object.fromEntries(TOOLS.map((t) => [t.function.name, ajv.compile(t.function.parameters)]));
const NAMES = TOOLS.map((t) => t.function.name);
// What a tool-call syntax looks like in text: never in content.
const MARKUP = /<tool_call>|<\/tool_call>|<\|python_tag\|>|"tool_calls"|<think>|<\/think>/;

const servers = {};
const quote = {};
const ends = {};  // end-of-turn token ids per model
const glue = {};  // the tokens lowered where calls are enforced
const GLUE = ['>\n', '}}\n', '}\n', '\n', ';', '.'];

before(async () => {
  if (skip) return;
  await Promise.all(MODELS.map(async (m) => {
    servers[m] = await startServer(['-m', path(m), '--parallel', '4', '--ctx-size', '4096']);
    servers[m].on('exit', (code, signal) => { servers[m].died = `exited (code ${code}, signal ${signal})`; });
    quote[m] = await singleTokenId(path(m), '"');
    ends[m] = await specialTokenIds(path(m), ['<|im_end|>', '<|eot_id|>', '<|eom_id|>', '<|endoftext|>']);
    assert.ok(ends[m].length > 0, `no end-of-turn token found for ${m}`);
    glue[m] = [];
    for (const t of GLUE) { try { glue[m].push(await singleTokenId(path(m), t)); } catch { /* not one token here */ } }
  }));
});

after(() => {
  for (const [m, s] of Object.entries(servers)) {
    if (s.died) console.log(`${m} server ${s.died} before the end; its log ends:\n${s.log().slice(-1500)}`);
    if (s.exitCode_ === undefined) s.kill('SIGKILL');
  }
});

// Every test ends by checking that its server is still up (a crash is a failure of its own).
function assertAlive(model) {
  assert.equal(servers[model].died, undefined, `${model} server ${servers[model].died}:\n${servers[model].log().slice(-1500)}`);
}

// The request body for `model`: Qwen 3 with thinking off unless `extra` says otherwise;
// the end-of-turn tokens raised when `extra` enforces calls.
function body(model, extra, steer = true) {
  const enforced = steer && (extra.tool_choice === 'required' || typeof extra.tool_choice === 'object');
  const bias = { [quote[model]]: 30 };
  if (enforced) for (const id of ends[model]) bias[id] = 20;
  if (enforced) for (const id of glue[model]) bias[id] = -100;
  const b = { messages: [{ role: 'user', content: 'What is the weather in Paris for the next 3 days? Then book me a flight there.' }],
              temperature: 1, max_tokens: MAX_TOKENS, logit_bias: bias, tools: TOOLS, ...extra };
  if (model.startsWith('qwen3') && !('chat_template_kwargs' in b)) b.chat_template_kwargs = { enable_thinking: false };
  return b;
}

// Non-streamed and streamed completion for the same body; returns both, parsed, with the
// stream folded into a message of the non-stream shape and every problem with its deltas.
async function both(model, b) {
  const port = servers[model].port;
  const [plain, streamed] = await Promise.all([
    postJson(port, '/v1/chat/completions', b),
    postJson(port, '/v1/chat/completions', { ...b, stream: true, stream_options: { include_usage: true } }),
  ]);
  assert.equal(plain.status, 200, `${JSON.stringify(b)}\n→ ${plain.body}`);
  assert.equal(streamed.status, 200, `${JSON.stringify(b)}\n→ ${streamed.body}`);
  return { plain: JSON.parse(plain.body), stream: foldStream(streamed.body) };
}

// Folds a chat stream into {message, finish_reason, usage, problems}.
function foldStream(text) {
  const { events, done } = sseEvents(text);
  const problems = [];
  if (!done) problems.push('stream did not end with [DONE]');
  let content = '', reasoning = '', finish = null, usage = null, sawContent = false;
  const calls = [];
  for (const ev of events) {
    if (ev.error) { problems.push(`error event: ${JSON.stringify(ev)}`); continue; }
    if (ev.usage) usage = ev.usage;
    for (const ch of ev.choices || []) {
      if (ch.finish_reason) {
        if (finish) problems.push(`second finish_reason ${ch.finish_reason}`);
        finish = ch.finish_reason;
      }
      const d = ch.delta || {};
      if (typeof d.content === 'string' && d.content !== '') { sawContent = true; content += d.content; }
      if (typeof d.reasoning_content === 'string') reasoning += d.reasoning_content;
      for (const tc of d.tool_calls || []) {
        if (!Number.isInteger(tc.index)) { problems.push(`tool_calls delta without an index: ${JSON.stringify(tc)}`); continue; }
        if (!calls[tc.index]) {
          if (tc.index !== calls.length) problems.push(`call index ${tc.index} opened after ${calls.length} calls`);
          const ok = typeof tc.id === 'string' && tc.type === 'function' && typeof tc.function?.name === 'string' &&
                     tc.function.arguments === '';
          if (!ok) problems.push(`first delta of call ${tc.index} lacks id/type/name or has arguments: ${JSON.stringify(tc)}`);
          calls[tc.index] = { id: tc.id, type: tc.type, function: { name: tc.function?.name, arguments: tc.function?.arguments || '' } };
        } else {
          if ('id' in tc || 'type' in tc || tc.function?.name !== undefined) problems.push(`later delta of call ${tc.index} repeats id/type/name: ${JSON.stringify(tc)}`);
          if (typeof tc.function?.arguments !== 'string' || tc.function.arguments === '') problems.push(`later delta of call ${tc.index} has no arguments fragment: ${JSON.stringify(tc)}`);
          calls[tc.index].function.arguments += tc.function?.arguments || '';
        }
      }
    }
  }
  if (MARKUP.test(content)) problems.push(`markup in streamed content: ${content.slice(0, 200)}`);
  const message = { content: sawContent ? content : (calls.length ? null : ''), tool_calls: calls.length ? calls : undefined,
                    reasoning_content: reasoning || undefined };
  return { message, finish_reason: finish, usage, problems };
}

// Checks one answer under required/named: returns a list of problems ([] when fine) and
// whether it finished by length (not checked further).
function checkCalls(message, finish, { only, parallel = true }) {
  const problems = [];
  if (finish === 'length') return { problems, length: true };
  if (finish !== 'tool_calls') problems.push(`finish_reason ${finish}, expected tool_calls`);
  const calls = message.tool_calls || [];
  if (calls.length === 0) problems.push('no tool_calls');
  if (!parallel && calls.length !== 1) problems.push(`parallel_tool_calls false but ${calls.length} calls`);
  if (message.content !== null) problems.push(`content ${JSON.stringify(message.content)} next to calls with no text (expected null)`);
  for (const c of calls) {
    if (!/^call_/.test(c.id || '')) problems.push(`call id ${JSON.stringify(c.id)} does not start with call_`);
    if (c.type !== 'function') problems.push(`call type ${c.type}`);
    const name = c.function?.name;
    if (only ? name !== only : !NAMES.includes(name)) problems.push(`call to ${JSON.stringify(name)}${only ? `, expected ${only}` : ', not a tool'}`);
    let args;
    try { args = JSON.parse(c.function.arguments); } catch (e) { problems.push(`arguments not JSON (${e.message}): ${c.function?.arguments}`); continue; }
    const v = validators[name];
    if (v && !v(args)) problems.push(`${name} arguments ${c.function.arguments} invalid: ${JSON.stringify(v.errors)}`);
    // JSON Schema counts 3.0 as an integer, but a Python tool (json.loads → float, pydantic's
    // strict int) does not: an integer parameter is written as an integer.
    for (const [k, ps] of Object.entries(TOOLS.find((t) => t.function.name === name)?.function.parameters.properties || {})) {
      if (ps.type === 'integer' && new RegExp(`"${k}"\\s*:\\s*-?[0-9]+[.eE]`).test(c.function.arguments)) problems.push(`${name}: integer ${k} written with a fraction or exponent: ${c.function.arguments}`);
    }
  }
  return { problems, length: false };
}

// The parts of a message that must not differ between stream and non-stream (ids are
// random per response).
const comparable = (m) => ({ content: m.content ?? null, reasoning_content: m.reasoning_content || '',
                             calls: (m.tool_calls || []).map((c) => [c.function.name, c.function.arguments]) });

// Runs N_SEEDS seeds of `extra` on `model` stream and non-stream, checks everything; returns stats.
async function seedRun(model, extra, opts, nSeeds = N_SEEDS) {
  const failures = [];
  let lengths = 0, finished = 0, calls = 0;
  const cut = [];  // what some length finishes looked like, for the log
  const t0 = Date.now();
  await pool(Array.from({ length: nSeeds }, (_, i) => async () => {
    const seed = 1000 + i;
    const b = body(model, { ...extra, seed });
    const { plain, stream } = await both(model, b);
    const ch = plain.choices[0];
    const tag = `${model} seed ${seed} ${JSON.stringify(extra.tool_choice)}`;
    const a = checkCalls(ch.message, ch.finish_reason, opts);
    if (a.length) {
      lengths++;
      if (cut.length < 2) cut.push(JSON.stringify(ch.message.tool_calls?.map((c) => `${c.function.name}(${c.function.arguments})`) ?? ch.message.content).slice(0, 300));
    } else {
      finished++;
      calls += (ch.message.tool_calls || []).length;
    }
    for (const p of a.problems) failures.push(`${tag}: ${p}`);
    for (const p of stream.problems) failures.push(`${tag} stream: ${p}`);
    if (MARKUP.test(ch.message.content || '')) failures.push(`${tag}: markup in content ${ch.message.content.slice(0, 200)}`);
    if (typeof plain.usage?.completion_tokens_details?.reasoning_tokens !== 'number') failures.push(`${tag}: usage.completion_tokens_details.reasoning_tokens missing: ${JSON.stringify(plain.usage)}`);
    try {
      assert.deepEqual(comparable(stream.message), comparable(ch.message));
      assert.equal(stream.finish_reason, ch.finish_reason);
      assert.equal(stream.usage?.completion_tokens, plain.usage.completion_tokens);
    } catch (e) {
      failures.push(`${tag}: stream differs from non-stream: ${e.message.slice(0, 600)}`);
    }
  }), WIDTH);
  return { failures, lengths, finished, calls, cut, ms: Date.now() - t0 };
}

function report(label, r) {
  console.log(`${label}: ${r.finished} finished with calls (${r.calls} calls, all validated), ${r.lengths} hit max_tokens; ${(r.ms / 1000).toFixed(1)} s`);
  for (const c of r.cut) console.log(`  cut by max_tokens: ${c}`);
  assert.deepEqual(r.failures.slice(0, 20), [], `${r.failures.length} failures`);
  assert.ok(r.lengths <= Math.ceil(MAX_LENGTH_SHARE * (r.lengths + r.finished)), `${r.lengths} of ${r.lengths + r.finished} hit max_tokens`);
}

for (const model of MODELS) {
  test(`${model}: tool_choice "required", ${N_SEEDS} seeds: valid calls to the tools, stream equals non-stream`, { skip, timeout: 600000 }, async () => {
    report(`${model} required`, await seedRun(model, { tool_choice: 'required' }, {}));
    assertAlive(model);
  });

  test(`${model}: named tool_choice, ${N_SEEDS} seeds: only that function, valid arguments, stream equals non-stream`, { skip, timeout: 600000 }, async () => {
    const name = 'search_flights';
    report(`${model} named`, await seedRun(model, { tool_choice: { type: 'function', function: { name } } }, { only: name }));
    assertAlive(model);
  });

  test(`${model}: parallel_tool_calls false gives exactly one call`, { skip, timeout: 300000 }, async () => {
    const r = await seedRun(model, { tool_choice: 'required', parallel_tool_calls: false }, { parallel: false }, Math.min(N_SEEDS, 20));
    report(`${model} required, parallel_tool_calls false`, r);
    assert.equal(r.calls, r.finished, 'one call per finished completion');
    assertAlive(model);
  });

  test(`${model}: tool_choice "none" never returns tool calls`, { skip, timeout: 300000 }, async () => {
    const res = await pool(Array.from({ length: 10 }, (_, i) => async () => {
      const b = body(model, { tool_choice: 'none', seed: 500 + i, max_tokens: 48 });
      return { i, ...(await both(model, b)) };
    }), WIDTH);
    for (const { i, plain, stream } of res) {
      const ch = plain.choices[0];
      assert.equal(ch.message.tool_calls, undefined, `seed ${500 + i}: ${JSON.stringify(ch.message)}`);
      assert.notEqual(ch.finish_reason, 'tool_calls');
      assert.equal(typeof ch.message.content, 'string');
      assert.equal(stream.message.tool_calls, undefined);
      assert.notEqual(stream.finish_reason, 'tool_calls');
      assert.deepEqual(stream.problems, []);
      assert.equal(stream.message.content, ch.message.content, `seed ${500 + i}: stream content differs`);
    }
  });

  test(`${model}: round trip (assistant tool_calls, tool result, next turn) with "required" calls again`, { skip, timeout: 300000 }, async () => {
    const port = servers[model].port;
    // First turn: a real call from the server.
    let first;
    for (let seed = 1; seed < 20 && !first; seed++) {
      const r = await postJson(port, '/v1/chat/completions', body(model, { tool_choice: { type: 'function', function: { name: 'get_weather' } }, seed }));
      assert.equal(r.status, 200, r.body);
      const ch = JSON.parse(r.body).choices[0];
      if (ch.finish_reason === 'tool_calls') first = ch.message;
    }
    assert.ok(first, 'no first turn finished with a call in 19 seeds');
    const messages = [
      ...body(model, {}).messages,
      { role: 'assistant', content: null, tool_calls: first.tool_calls },
      ...first.tool_calls.map((c, i) => ({ role: 'tool', tool_call_id: c.id, content: JSON.stringify({ temperature_c: 18 + i, sky: 'cloudy' }) })),
    ];
    let checked = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const r = await postJson(port, '/v1/chat/completions', body(model, { messages, tool_choice: 'required', seed }));
      assert.equal(r.status, 200, r.body);
      const j = JSON.parse(r.body);
      assert.ok(j.usage.prompt_tokens > 0);
      const ch = j.choices[0];
      const a = checkCalls(ch.message, ch.finish_reason, {});
      assert.deepEqual(a.problems, [], JSON.stringify(ch));
      if (!a.length) checked++;
    }
    assert.ok(checked >= 3, `only ${checked} of 5 second turns finished`);
    // The same history without tools at all (a client that dropped them) is still a valid request.
    const plainTurn = await postJson(port, '/v1/chat/completions', { messages, max_tokens: 8, seed: 1 });
    assert.equal(plainTurn.status, 200, plainTurn.body);
  });
}

test('parallel calls without steering: several calls per answer, indices 0..n-1, complete ones valid, stream equals non-stream', { skip, timeout: 300000 }, async () => {
  let multi = 0;
  const failures = [];
  for (const model of MODELS) {
    await pool(Array.from({ length: 8 }, (_, i) => async () => {
      const seed = 2000 + i;
      const { plain, stream } = await both(model, body(model, { tool_choice: 'required', seed }, false));
      const ch = plain.choices[0];
      const calls = ch.message.tool_calls || [];
      if (calls.length >= 2) multi++;
      if (new Set(calls.map((c) => c.id)).size !== calls.length) failures.push(`${model} seed ${seed}: repeated call ids`);
      // All calls but a cut-off last one are complete.
      const complete = ch.finish_reason === 'length' ? calls.slice(0, -1) : calls;
      const a = checkCalls({ content: ch.message.content, tool_calls: complete }, complete.length ? 'tool_calls' : 'length', {});
      for (const p of a.problems) failures.push(`${model} seed ${seed}: ${p}`);
      for (const p of stream.problems) failures.push(`${model} seed ${seed} stream: ${p}`);
      try { assert.deepEqual(comparable(stream.message), comparable(ch.message)); } catch (e) { failures.push(`${model} seed ${seed}: stream differs: ${e.message.slice(0, 400)}`); }
    }), WIDTH);
  }
  console.log(`parallel calls: ${multi} answers with 2 or more calls`);
  assert.deepEqual(failures, []);
  assert.ok(multi >= 4, `only ${multi} answers had several calls`);
});

test('a call cut off by max_tokens leaves no markup in content (required: no text at all)', { skip, timeout: 300000 }, async () => {
  const failures = [];
  for (const model of MODELS) {
    await pool(Array.from({ length: 12 }, (_, i) => async () => {
      const b = body(model, { tool_choice: 'required', seed: 3000 + i, max_tokens: 20 + 7 * i }, false);
      const { plain, stream } = await both(model, b);
      const m = plain.choices[0].message;
      if (m.content !== null && m.content !== '') failures.push(`${model} seed ${b.seed} max_tokens ${b.max_tokens} (${plain.choices[0].finish_reason}): content ${JSON.stringify(m.content)}`);
      if (stream.message.content) failures.push(`${model} seed ${b.seed} max_tokens ${b.max_tokens} stream: content ${JSON.stringify(stream.message.content)}`);
    }), WIDTH);
  }
  assert.deepEqual(failures, []);
});

test('qwen3-Q4_0 with thinking on and "required": reasoning only in reasoning_content, stream equals non-stream', { skip, timeout: 300000 }, async () => {
  const model = 'qwen3-Q4_0';
  const b = body(model, { tool_choice: 'required', seed: 42, chat_template_kwargs: { enable_thinking: true }, max_tokens: 120 });
  const { plain, stream } = await both(model, b);
  const ch = plain.choices[0];
  const m = ch.message;
  console.log(`qwen3 thinking: finish ${ch.finish_reason}, reasoning ${JSON.stringify(m.reasoning_content || '').length} chars, ` +
              `reasoning_tokens ${plain.usage.completion_tokens_details?.reasoning_tokens}, ${(m.tool_calls || []).length} calls`);
  assert.deepEqual(stream.problems, []);
  assert.ok(!MARKUP.test(m.content || ''), `markup in content: ${m.content}`);
  assert.ok(!/<\/?think>/.test(m.reasoning_content || ''), 'think tags inside reasoning_content');
  const rt = plain.usage.completion_tokens_details?.reasoning_tokens;
  assert.equal(typeof rt, 'number');
  if (m.reasoning_content) assert.ok(rt > 0, 'reasoning text but reasoning_tokens 0');
  else assert.equal(rt, 0);
  assert.ok(rt <= plain.usage.completion_tokens);
  if (ch.finish_reason !== 'length') assert.deepEqual(checkCalls(m, ch.finish_reason, {}).problems, []);
  assert.deepEqual(comparable(stream.message), comparable(m));
});

test('legacy functions / function_call: a call to the named function with valid arguments', { skip, timeout: 120000 }, async () => {
  const model = MODELS[0];
  const port = servers[model].port;
  const b = body(model, { seed: 3, functions: TOOLS.map((t) => t.function), function_call: { name: 'get_weather' } });
  delete b.tools;
  const r = await postJson(port, '/v1/chat/completions', b);
  assert.equal(r.status, 200, r.body);
  const ch = JSON.parse(r.body).choices[0];
  if (ch.finish_reason === 'length') return;
  // OpenAI answers the legacy form with message.function_call; tool_calls are accepted too.
  const call = ch.message.function_call || ch.message.tool_calls?.[0]?.function;
  assert.ok(call, JSON.stringify(ch));
  assert.equal(call.name, 'get_weather');
  assert.ok(validators.get_weather(JSON.parse(call.arguments)), call.arguments);
  // A legacy history: assistant function_call, then a `function` role result.
  const hist = body(model, { seed: 4, max_tokens: 16, functions: TOOLS.map((t) => t.function), function_call: 'none',
    messages: [{ role: 'user', content: 'Weather in Oslo?' },
               { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
               { role: 'function', name: 'get_weather', content: '{"temperature_c": 3}' }] });
  delete hist.tools;
  const h = await postJson(port, '/v1/chat/completions', hist);
  assert.equal(h.status, 200, h.body);
  assert.equal(JSON.parse(h.body).choices[0].message.tool_calls, undefined);
});

test('bad tool requests are 400s with the OpenAI error envelope', { skip, timeout: 120000 }, async () => {
  const model = MODELS[0];
  const port = servers[model].port;
  const base = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, seed: 1 };
  const weather = TOOLS[0];
  const cases = {
    'required without tools': { ...base, tool_choice: 'required' },
    'named tool not among tools': { ...base, tools: [weather], tool_choice: { type: 'function', function: { name: 'book_hotel' } } },
    'bad tool name': { ...base, tools: [{ type: 'function', function: { name: 'get weather!', parameters: { type: 'object' } } }] },
    'empty tool name': { ...base, tools: [{ type: 'function', function: { name: '', parameters: { type: 'object' } } }] },
    'unsupported parameters schema (bad pattern), required': { ...base, tool_choice: 'required',
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', pattern: '((' } }, required: ['a'] } } }] },
    'unsupported parameters schema (bad pattern), auto': { ...base, tool_choice: 'auto',
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', pattern: '((' } }, required: ['a'] } } }] },
    'web_search tool': { ...base, tools: [{ type: 'web_search' }] },
    'web_search next to a function': { ...base, tools: [weather, { type: 'web_search_preview' }] },
    'duplicate tool names': { ...base, tools: [weather, weather] },
    'tools and functions together': { ...base, tools: [weather], functions: [weather.function] },
    'tool_choice garbage string': { ...base, tools: [weather], tool_choice: 'always' },
    'tool_choice required plus response_format json_schema': { ...base, tools: [weather], tool_choice: 'required',
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } } },
  };
  const failures = [];
  for (const [label, b] of Object.entries(cases)) {
    for (const stream of [false, true]) {
      const r = await postJson(port, '/v1/chat/completions', { ...b, stream });
      let err;
      try { err = JSON.parse(r.body).error; } catch { /* checked below */ }
      const ok = r.status === 400 && err && typeof err.message === 'string' && err.message.length > 0 && typeof err.type === 'string' && 'param' in err && 'code' in err;
      if (!ok) failures.push(`${label}${stream ? ' (stream)' : ''}: ${r.status} ${r.body.slice(0, 300)}`);
      else if (!stream) console.log(`  ${label}: 400 ${err.code} param=${err.param}: ${err.message.slice(0, 120)}`);
    }
  }
  assert.deepEqual(failures, []);
  // The server is still fine afterwards.
  const ok = await postJson(port, '/v1/chat/completions', { ...base, tools: [weather], tool_choice: 'none' });
  assert.equal(ok.status, 200, ok.body);
});

test('logprobs under an enforced tool_choice are valid JSON with finite numbers', { skip, timeout: 120000 }, async () => {
  const model = MODELS[0];
  const port = servers[model].port;
  const b = body(model, { tool_choice: 'required', seed: 1, logprobs: true, top_logprobs: 3 });
  const plain = await postJson(port, '/v1/chat/completions', b);
  assert.equal(plain.status, 200, plain.body);
  let j;
  assert.doesNotThrow(() => { j = JSON.parse(plain.body); }, `not JSON: ${plain.body.match(/.{80}Infinity.{40}/)?.[0]}`);
  for (const t of j.choices[0].logprobs.content) {
    assert.ok(Number.isFinite(t.logprob), JSON.stringify(t));
    for (const alt of t.top_logprobs) assert.ok(Number.isFinite(alt.logprob), `top_logprobs entry ${JSON.stringify(alt)}`);
  }
  const streamed = await postJson(port, '/v1/chat/completions', { ...b, stream: true });
  assert.doesNotThrow(() => sseEvents(streamed.body), `stream not JSON: ${streamed.body.match(/.{80}Infinity.{40}/)?.[0]}`);
});
