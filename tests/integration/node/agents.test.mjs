// The APIs that agents use, through the official clients: `@anthropic-ai/sdk` against
// /v1/messages (create, stream, countTokens, tool use with tool_choice any) and `openai`'s
// Responses API (create, stream, function tools, text.format json_schema, the SQLite store:
// retrieve, inputItems.list, delete, previous_response_id across a restart and after a
// `kill -9` mid-stream), and llama-server's /tokenize, /detokenize and /apply-template.
// Client retries are off so that a failed request fails the test.
//
// The model (Qwen 3's template: Hermes tool calls, <think> reasoning) has random weights.
// Neither API takes logit_bias, so the schemas here use only booleans and enums, which the
// grammar closes by itself (a free string rarely closes, and an integer may be written
// 8.000... by a random model, which JSON Schema allows). Greedy decoding (temperature 0,
// top_k 1) makes answers comparable across stream / non-stream and across a restart.
// Needs SLUICE_BINARY and SLUICE_SHARED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import Ajv from 'ajv';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startServer, request, postJson, sseEvents } from './helpers.mjs';

const SHARED = process.env.SLUICE_SHARED || '../shared';
const MODEL = `${SHARED}/models/qwen3-Q4_0.gguf`;
const required = process.env.SLUICE_REQUIRE_SHARED === '1';
const skip = !fs.existsSync(MODEL) && !required ? `shared models not found under ${SHARED}/models` : false;
const KEY = 'sk-agents-one';
const OTHER_KEY = 'sk-agents-two';

const ALARM = {
  type: 'object', additionalProperties: false, required: ['hour', 'repeat', 'day'],
  properties: { hour: { type: 'integer', enum: [5, 6, 7, 8, 9] },
                repeat: { type: 'boolean' },
                day: { type: 'string', enum: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] } },
};
const LIGHTS = {
  type: 'object', additionalProperties: false, required: ['on'],
  properties: { on: { type: 'boolean' }, level: { type: 'integer', enum: [1, 2, 3, 4, 5] } },
};
const ajv = new Ajv({ strict: false, logger: false });
const validate = { set_alarm: ajv.compile(ALARM), set_lights: ajv.compile(LIGHTS) };
const ANTHROPIC_TOOLS = [
  { name: 'set_alarm', description: 'Set an alarm', input_schema: ALARM },
  { name: 'set_lights', description: 'Switch the lights', input_schema: LIGHTS },
];
const RESPONSES_TOOLS = [
  { type: 'function', name: 'set_alarm', description: 'Set an alarm', parameters: ALARM, strict: true },
  { type: 'function', name: 'set_lights', description: 'Switch the lights', parameters: LIGHTS, strict: true },
];

const tmpDirs = [];
function freshDir() {
  const d = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'sluice-agents-'));
  tmpDirs.push(d);
  return d;
}
const servers = [];
async function serve(args) {
  const s = await startServer(['-m', MODEL, '--ctx-size', '4096', '--kv-memory', '1024', '--api-key', KEY, '--api-key', OTHER_KEY, ...args]);
  s.on('exit', (code, signal) => { s.died = `exited (code ${code}, signal ${signal})`; });
  servers.push(s);
  return s;
}
function stop(s, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    if (s.exitCode_ !== undefined || s.exitCode !== null || s.signalCode !== null) return resolve();
    s.once('exit', () => resolve());
    s.kill(signal);
  });
}

let srv, port, modelId, anthropic, openai;

before(async () => {
  if (skip) return;
  srv = await serve(['--parallel', '4', '--data-dir', freshDir()]);
  port = srv.port;
  modelId = JSON.parse((await request(port, { path: '/v1/models', headers: { Authorization: `Bearer ${KEY}` } })).body).data[0].id;
  anthropic = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: KEY, maxRetries: 0 });
  openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: KEY, maxRetries: 0 });
});

after(() => {
  for (const s of servers) if (s.died && s.signalCode !== 'SIGKILL' && s.exitCode !== 0) console.log(`a server ${s.died}; its log ends:\n${s.log().slice(-3000)}`);
  for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function assertAlive() {
  assert.equal(srv.died, undefined, `server ${srv.died}:\n${srv.log().slice(-1500)}`);
}

// ---------------------------------------------------------------- Anthropic Messages

const greedy = { temperature: 0, top_k: 1 };

test('anthropic sdk: messages.create and messages.stream give the same greedy message; raw SSE follows the event grammar', { skip, timeout: 120000 }, async () => {
  const params = { model: modelId, max_tokens: 24, ...greedy, thinking: { type: 'disabled' }, system: 'You are terse.',
                   messages: [{ role: 'user', content: 'Name three rivers in Europe.' }] };
  const plain = await anthropic.messages.create(params);
  assert.equal(plain.type, 'message');
  assert.equal(plain.role, 'assistant');
  assert.match(plain.id, /^msg_/);
  assert.equal(plain.model, modelId);
  assert.ok(['end_turn', 'max_tokens'].includes(plain.stop_reason), plain.stop_reason);
  assert.equal(plain.stop_sequence, null);
  assert.ok(plain.content.length >= 1);
  assert.ok(plain.content.every((b) => b.type === 'text'), JSON.stringify(plain.content));
  assert.ok(plain.usage.output_tokens > 0 && plain.usage.output_tokens <= 24);
  assert.ok(plain.usage.input_tokens + plain.usage.cache_read_input_tokens > 0);

  const stream = anthropic.messages.stream(params);
  const deltas = [];
  stream.on('text', (t) => deltas.push(t));
  const final = await stream.finalMessage();
  assert.deepEqual(final.content, plain.content);
  assert.equal(final.stop_reason, plain.stop_reason);
  assert.equal(final.stop_sequence, plain.stop_sequence);
  assert.equal(final.usage.output_tokens, plain.usage.output_tokens);
  assert.equal(deltas.join(''), plain.content.map((b) => b.text).join(''));

  // The raw event sequence: message_start, (ping), per block start / deltas / stop,
  // message_delta, message_stop; every frame's `event:` equals its data's type.
  const raw = await postJson(port, '/v1/messages', { ...params, stream: true }, { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' });
  assert.equal(raw.status, 200, raw.body);
  assert.match(raw.headers['content-type'], /^text\/event-stream/);
  const frames = raw.body.split('\n\n').filter((f) => f.trim());
  const types = [];
  for (const f of frames) {
    const ev = f.split('\n').find((l) => l.startsWith('event: '))?.slice(7);
    const data = JSON.parse(f.split('\n').find((l) => l.startsWith('data: ')).slice(6));
    assert.equal(ev, data.type, f);
    types.push(data.type);
  }
  const grammar = /^message_start( ping)*( content_block_start( ping| content_block_delta)* content_block_stop)+( ping)* message_delta( ping)* message_stop$/;
  assert.match(types.join(' '), grammar);
  const { events } = sseEvents(raw.body);
  const md = events.find((e) => e.type === 'message_delta');
  assert.equal(md.delta.stop_reason, plain.stop_reason);
  assert.equal(md.usage.output_tokens, plain.usage.output_tokens);
  assertAlive();
});

test('anthropic sdk: stop_sequences end the message with stop_reason stop_sequence, stream and non-stream', { skip, timeout: 120000 }, async () => {
  const params = { model: modelId, max_tokens: 32, ...greedy, thinking: { type: 'disabled' },
                   messages: [{ role: 'user', content: 'Count from one to twenty.' }] };
  const free = await anthropic.messages.create(params);
  const text = free.content.map((b) => b.text).join('');
  // A stop string taken from the middle of what the model writes greedily.
  const chars = [...text];
  assert.ok(chars.length >= 6, `too little text to cut: ${JSON.stringify(text)}`);
  const stopAt = Math.floor(chars.length / 2);
  const stopSeq = chars.slice(stopAt, stopAt + 2).join('');
  const expected = text.slice(0, text.indexOf(stopSeq));
  const cut = await anthropic.messages.create({ ...params, stop_sequences: [stopSeq] });
  assert.equal(cut.stop_reason, 'stop_sequence', JSON.stringify(cut));
  assert.equal(cut.stop_sequence, stopSeq);
  assert.equal(cut.content.map((b) => b.text).join(''), expected);
  const final = await anthropic.messages.stream({ ...params, stop_sequences: [stopSeq] }).finalMessage();
  assert.equal(final.stop_reason, 'stop_sequence');
  assert.equal(final.stop_sequence, stopSeq);
  assert.equal(final.content.map((b) => b.text).join(''), expected);
  assertAlive();
});

test('anthropic sdk: countTokens matches the usage of the same request; thinking disabled renders a longer prompt', { skip, timeout: 60000 }, async () => {
  const msgs = [{ role: 'user', content: `A unique question number ${Date.now()}: what is a river?` }];
  const counted = await anthropic.messages.countTokens({ model: modelId, messages: msgs, thinking: { type: 'disabled' } });
  assert.ok(Number.isInteger(counted.input_tokens) && counted.input_tokens > 0);
  const made = await anthropic.messages.create({ model: modelId, max_tokens: 2, ...greedy, messages: msgs, thinking: { type: 'disabled' } });
  assert.equal(made.usage.input_tokens + made.usage.cache_read_input_tokens, counted.input_tokens);
  // Qwen 3's template closes an empty <think></think> in the generation prompt when
  // enable_thinking is false: the disabled prompt is longer.
  const enabled = await anthropic.messages.countTokens({ model: modelId, messages: msgs, thinking: { type: 'enabled', budget_tokens: 1024 } });
  assert.ok(counted.input_tokens > enabled.input_tokens, `disabled ${counted.input_tokens}, enabled ${enabled.input_tokens}`);
  // Tools are part of the rendered prompt.
  const withTools = await anthropic.messages.countTokens({ model: modelId, messages: msgs, tools: ANTHROPIC_TOOLS, thinking: { type: 'disabled' } });
  assert.ok(withTools.input_tokens > counted.input_tokens + 20);
  assertAlive();
});

test('anthropic sdk: tool_choice any gives a tool_use whose input validates; the tool_result round trip and streamed input_json_delta agree', { skip, timeout: 120000 }, async () => {
  const params = { model: modelId, max_tokens: 64, ...greedy, thinking: { type: 'disabled' }, tools: ANTHROPIC_TOOLS,
                   tool_choice: { type: 'any', disable_parallel_tool_use: true },
                   messages: [{ role: 'user', content: 'Wake me at seven on Monday and turn the lights on.' }] };
  const msg = await anthropic.messages.create(params);
  assert.equal(msg.stop_reason, 'tool_use', JSON.stringify(msg));
  const uses = msg.content.filter((b) => b.type === 'tool_use');
  assert.equal(uses.length, 1, JSON.stringify(msg.content));
  const use = uses[0];
  assert.match(use.id, /^toolu_/);
  assert.ok(use.name in validate, use.name);
  assert.ok(validate[use.name](use.input), `${use.name}(${JSON.stringify(use.input)}): ${JSON.stringify(validate[use.name].errors)}`);

  const streamed = await anthropic.messages.stream(params).finalMessage();
  assert.equal(streamed.stop_reason, 'tool_use');
  const su = streamed.content.filter((b) => b.type === 'tool_use');
  assert.equal(su.length, 1);
  assert.equal(su[0].name, use.name);
  assert.deepEqual(su[0].input, use.input);
  const raw = await postJson(port, '/v1/messages', { ...params, stream: true }, { 'x-api-key': KEY });
  const evs = sseEvents(raw.body).events;
  const start = evs.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use');
  assert.ok(start, raw.body);
  const json = evs.filter((e) => e.type === 'content_block_delta' && e.index === start.index).map((e) => {
    assert.equal(e.delta.type, 'input_json_delta');
    return e.delta.partial_json;
  }).join('');
  assert.deepEqual(JSON.parse(json), use.input);

  // A named tool.
  const named = await anthropic.messages.create({ ...params, tool_choice: { type: 'tool', name: 'set_lights' } });
  const nu = named.content.filter((b) => b.type === 'tool_use');
  assert.equal(nu.length >= 1, true, JSON.stringify(named));
  for (const u of nu) {
    assert.equal(u.name, 'set_lights');
    assert.ok(validate.set_lights(u.input), JSON.stringify(u.input));
  }
  // none: no tool_use block.
  const none = await anthropic.messages.create({ ...params, max_tokens: 16, tool_choice: { type: 'none' } });
  assert.equal(none.content.filter((b) => b.type === 'tool_use').length, 0);
  assert.notEqual(none.stop_reason, 'tool_use');

  // The round trip: the call and its result go back; the answer is a new assistant turn
  // whose prompt holds the tool result (a longer result renders a longer prompt).
  const turn = (result) => [...params.messages, { role: 'assistant', content: msg.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: result }] }];
  const short = await anthropic.messages.countTokens({ model: modelId, messages: turn('ok'), tools: ANTHROPIC_TOOLS, thinking: { type: 'disabled' } });
  const long = await anthropic.messages.countTokens({ model: modelId, messages: turn([{ type: 'text', text: 'alarm set for 07:00 on Monday, lights on at level 5' }]), tools: ANTHROPIC_TOOLS, thinking: { type: 'disabled' } });
  assert.ok(long.input_tokens > short.input_tokens + 5, `${long.input_tokens} vs ${short.input_tokens}`);
  const next = await anthropic.messages.create({ ...params, tool_choice: { type: 'auto' }, max_tokens: 16, messages: turn('ok') });
  assert.equal(next.type, 'message');
  assert.equal(next.usage.input_tokens + next.usage.cache_read_input_tokens, short.input_tokens);
  assertAlive();
});

test('anthropic: errors use Anthropic\'s envelope; a missing or wrong x-api-key is 401 authentication_error', { skip, timeout: 60000 }, async () => {
  const bad = await postJson(port, '/v1/messages', { model: modelId, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': KEY });
  assert.equal(bad.status, 400, bad.body);
  const be = JSON.parse(bad.body);
  assert.equal(be.type, 'error');
  assert.equal(be.error.type, 'invalid_request_error');
  assert.equal(typeof be.error.message, 'string');
  await assert.rejects(anthropic.messages.create({ model: modelId, max_tokens: 4, messages: [{ role: 'robot', content: 'hi' }] }),
    (e) => e instanceof Anthropic.BadRequestError && e.status === 400 && e.error?.type === 'error' && e.error?.error?.type === 'invalid_request_error');
  for (const headers of [{}, { 'x-api-key': 'sk-wrong' }]) {
    const r = await postJson(port, '/v1/messages', { model: modelId, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }, headers);
    assert.equal(r.status, 401, r.body);
    const e = JSON.parse(r.body);
    assert.equal(e.type, 'error');
    assert.equal(e.error.type, 'authentication_error');
  }
  const wrong = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(wrong.messages.create({ model: modelId, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }),
    (e) => e instanceof Anthropic.AuthenticationError && e.status === 401);
  // The second key is accepted too.
  const other = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: OTHER_KEY, maxRetries: 0 });
  const ok = await other.messages.countTokens({ model: modelId, messages: [{ role: 'user', content: 'hi' }] });
  assert.ok(ok.input_tokens > 0);
  assertAlive();
});

// ---------------------------------------------------------------- OpenAI Responses

// The folded text of a Response's message items.
const outputText = (r) => r.output.filter((i) => i.type === 'message').flatMap((i) => i.content).filter((c) => c.type === 'output_text').map((c) => c.text).join('');

test('openai sdk: responses.create and the stream agree; events are typed with increasing sequence_number', { skip, timeout: 120000 }, async () => {
  const params = { model: modelId, input: 'Name three rivers in Europe.', instructions: 'You are terse.', max_output_tokens: 24,
                   temperature: 0, reasoning: { effort: 'none' }, store: false };
  const plain = await openai.responses.create(params);
  assert.match(plain.id, /^resp_/);
  assert.equal(plain.object, 'response');
  assert.ok(['completed', 'incomplete'].includes(plain.status));
  if (plain.status === 'incomplete') assert.equal(plain.incomplete_details.reason, 'max_output_tokens');
  assert.equal(plain.instructions, 'You are terse.');
  assert.ok(plain.usage.output_tokens > 0 && plain.usage.output_tokens <= 24);
  assert.equal(plain.usage.total_tokens, plain.usage.input_tokens + plain.usage.output_tokens);
  assert.equal(plain.output.filter((i) => i.type === 'reasoning').length, 0, 'effort none: no reasoning');
  assert.equal(plain.output_text, outputText(plain));  // the SDK's own convenience field
  assert.ok(plain.output_text.length > 0);

  const stream = await openai.responses.create({ ...params, stream: true });
  const events = [];
  for await (const ev of stream) events.push(ev);
  let seq = -1;
  for (const ev of events) {
    assert.ok(Number.isInteger(ev.sequence_number) && ev.sequence_number > seq, JSON.stringify(ev));
    seq = ev.sequence_number;
  }
  assert.equal(events[0].type, 'response.created');
  assert.equal(events[1].type, 'response.in_progress');
  const last = events.at(-1);
  assert.equal(last.type, plain.status === 'completed' ? 'response.completed' : 'response.incomplete');
  const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
  assert.equal(deltas, plain.output_text);
  const done = events.find((e) => e.type === 'response.output_text.done');
  assert.equal(done.text, plain.output_text);
  assert.equal(outputText(last.response), plain.output_text);
  for (const t of ['response.output_item.added', 'response.content_part.added', 'response.content_part.done', 'response.output_item.done'])
    assert.ok(events.some((e) => e.type === t), `no ${t}`);
  assertAlive();
});

test('openai sdk: function tools with tool_choice required; the output and the function_call_output round trip', { skip, timeout: 120000 }, async () => {
  const params = { model: modelId, input: 'Wake me at seven on Monday and turn the lights on.', tools: RESPONSES_TOOLS, tool_choice: 'required',
                   parallel_tool_calls: false, max_output_tokens: 64, temperature: 0, reasoning: { effort: 'none' } };
  const r = await openai.responses.create(params);
  assert.equal(r.status, 'completed', JSON.stringify(r));
  const calls = r.output.filter((i) => i.type === 'function_call');
  assert.equal(calls.length, 1, JSON.stringify(r.output));
  const call = calls[0];
  assert.match(call.call_id, /^call_/);
  const args = JSON.parse(call.arguments);
  assert.ok(validate[call.name](args), `${call.name}(${call.arguments}): ${JSON.stringify(validate[call.name].errors)}`);

  // Streamed: the arguments deltas add up to the same call.
  const events = [];
  for await (const ev of await openai.responses.create({ ...params, stream: true })) events.push(ev);
  const argDeltas = events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta).join('');
  assert.equal(argDeltas, call.arguments);
  assert.equal(events.find((e) => e.type === 'response.function_call_arguments.done').arguments, call.arguments);
  const doneItem = events.filter((e) => e.type === 'response.output_item.done').map((e) => e.item).find((i) => i.type === 'function_call');
  assert.equal(doneItem.name, call.name);

  // A named function.
  const named = await openai.responses.create({ ...params, tool_choice: { type: 'function', name: 'set_lights' } });
  const nc = named.output.filter((i) => i.type === 'function_call');
  assert.equal(nc.length, 1);
  assert.equal(nc[0].name, 'set_lights');
  assert.ok(validate.set_lights(JSON.parse(nc[0].arguments)));

  // The tool's output goes back through previous_response_id.
  const next = await openai.responses.create({ model: modelId, previous_response_id: r.id, tools: RESPONSES_TOOLS,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: 'alarm set' }], max_output_tokens: 8, temperature: 0, reasoning: { effort: 'none' } });
  assert.equal(next.previous_response_id, r.id);
  assert.ok(next.usage.input_tokens > r.usage.input_tokens + r.usage.output_tokens, `${next.usage.input_tokens} vs ${r.usage.input_tokens}+${r.usage.output_tokens}`);
  assertAlive();
});

test('openai sdk: text.format json_schema output validates with ajv', { skip, timeout: 120000 }, async () => {
  const schema = { type: 'object', additionalProperties: false, required: ['alarm', 'lights'],
                   properties: { alarm: ALARM, lights: LIGHTS, tags: { type: 'array', maxItems: 3, items: { type: 'string', enum: ['home', 'work'] } } } };
  const check = ajv.compile(schema);
  for (const stream of [false, true]) {
    const params = { model: modelId, input: 'Plan my morning.', max_output_tokens: 120, temperature: 0, reasoning: { effort: 'none' }, store: false,
                     text: { format: { type: 'json_schema', name: 'morning', schema, strict: true } } };
    let r;
    if (stream) {
      for await (const ev of await openai.responses.create({ ...params, stream: true })) if (ev.type === 'response.completed' || ev.type === 'response.incomplete') r = ev.response;
    } else {
      r = await openai.responses.create(params);
    }
    assert.equal(r.status, 'completed', JSON.stringify(r));
    assert.equal(r.text.format.type, 'json_schema');
    const obj = JSON.parse(outputText(r));
    assert.ok(check(obj), `${outputText(r)}: ${JSON.stringify(check.errors)}`);
  }
  assertAlive();
});

test('openai sdk: reasoning.effort reaches the template (none closes Qwen 3\'s thinking)', { skip, timeout: 60000 }, async () => {
  const base = { model: modelId, input: `Question ${Date.now()}: why is the sky blue?`, max_output_tokens: 4, temperature: 0, store: false };
  const none = await openai.responses.create({ ...base, reasoning: { effort: 'none' } });
  const high = await openai.responses.create({ ...base, reasoning: { effort: 'high' } });
  assert.ok(none.usage.input_tokens > high.usage.input_tokens, `none ${none.usage.input_tokens}, high ${high.usage.input_tokens}`);
  assert.equal(none.reasoning.effort, 'none');
  assert.equal(high.reasoning.effort, 'high');
  assertAlive();
});

test('openai sdk: stored responses: retrieve, inputItems.list, previous_response_id, another key gets 404, delete', { skip, timeout: 120000 }, async () => {
  const first = await openai.responses.create({ model: modelId, input: [{ role: 'user', content: [{ type: 'input_text', text: 'Remember the number 41.' }] }],
    instructions: 'Be brief.', max_output_tokens: 12, temperature: 0, reasoning: { effort: 'none' }, metadata: { case: 'store' } });
  assert.equal(first.store, true);
  const got = await openai.responses.retrieve(first.id);
  assert.equal(got.id, first.id);
  assert.deepEqual(got.output, first.output);
  assert.deepEqual(got.usage, first.usage);
  assert.equal(got.status, first.status);
  assert.deepEqual(got.metadata, { case: 'store' });
  const items = [];
  for await (const it of openai.responses.inputItems.list(first.id)) items.push(it);
  assert.ok(items.length >= 1, JSON.stringify(items));
  const texts = items.filter((i) => i.type === 'message').flatMap((i) => i.content).map((c) => c.text);
  assert.ok(texts.includes('Remember the number 41.'), JSON.stringify(items));

  const second = await openai.responses.create({ model: modelId, previous_response_id: first.id, input: 'Which number?', max_output_tokens: 8, temperature: 0, reasoning: { effort: 'none' } });
  assert.equal(second.previous_response_id, first.id);
  assert.ok(second.usage.input_tokens >= first.usage.input_tokens + first.usage.output_tokens - 2, `${second.usage.input_tokens} vs ${first.usage.input_tokens}+${first.usage.output_tokens}`);
  // instructions are not carried to the next turn: the same turn with no previous answer is
  // shorter by at least the first exchange.
  const alone = await openai.responses.create({ model: modelId, input: 'Which number?', max_output_tokens: 1, temperature: 0, reasoning: { effort: 'none' }, store: false });
  assert.ok(second.usage.input_tokens > alone.usage.input_tokens + first.usage.output_tokens);

  // Another key: 404 for every route, and previous_response_id is not found either.
  const other = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
  await assert.rejects(other.responses.retrieve(first.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(other.responses.inputItems.list(first.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(other.responses.delete(first.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(other.responses.create({ model: modelId, previous_response_id: first.id, input: 'x', max_output_tokens: 1 }),
    (e) => e.status === 404 || e.status === 400);
  // Unstored responses are not retrievable.
  await assert.rejects(openai.responses.retrieve(alone.id), (e) => e instanceof OpenAI.NotFoundError);

  const del = await request(port, { method: 'DELETE', path: `/v1/responses/${second.id}`, headers: { Authorization: `Bearer ${KEY}` } });
  assert.equal(del.status, 200, del.body);
  assert.deepEqual(JSON.parse(del.body), { id: second.id, object: 'response', deleted: true });
  await openai.responses.delete(first.id);  // the SDK's own call
  await assert.rejects(openai.responses.retrieve(first.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(openai.responses.retrieve(second.id), (e) => e instanceof OpenAI.NotFoundError);
  assertAlive();
});

test('openai sdk: previous_response_id continues across a server restart (SIGTERM, same --data-dir)', { skip, timeout: 180000 }, async () => {
  const dir = freshDir();
  let s = await serve(['--parallel', '2', '--data-dir', dir]);
  let client = new OpenAI({ baseURL: `http://127.0.0.1:${s.port}/v1`, apiKey: KEY, maxRetries: 0 });
  const common = { model: modelId, max_output_tokens: 12, temperature: 0, reasoning: { effort: 'none' } };
  const first = await client.responses.create({ ...common, input: 'My name is Ada. Say hello.' });
  // What the continuation is before the restart (not stored).
  const before_ = await client.responses.create({ ...common, previous_response_id: first.id, input: 'What is my name?', store: false });
  await stop(s, 'SIGTERM');
  assert.equal(s.exitCode, 0, `SIGTERM exit: ${s.exitCode} ${s.signalCode}\n${s.log().slice(-800)}`);

  s = await serve(['--parallel', '2', '--data-dir', dir]);
  client = new OpenAI({ baseURL: `http://127.0.0.1:${s.port}/v1`, apiKey: KEY, maxRetries: 0 });
  const got = await client.responses.retrieve(first.id);
  assert.deepEqual(got.output, first.output);
  const after_ = await client.responses.create({ ...common, previous_response_id: first.id, input: 'What is my name?' });
  assert.equal(after_.usage.input_tokens, before_.usage.input_tokens);
  assert.deepEqual(after_.output.map((i) => ({ ...i, id: undefined, call_id: undefined })), before_.output.map((i) => ({ ...i, id: undefined, call_id: undefined })));
  // And once more, from the post-restart answer.
  const third = await client.responses.create({ ...common, previous_response_id: after_.id, input: 'Again?' });
  assert.ok(third.usage.input_tokens > after_.usage.input_tokens + after_.usage.output_tokens);
  await stop(s, 'SIGTERM');
});

test('store survives kill -9 mid-stream: completed responses are retrievable after a restart', { skip, timeout: 180000 }, async () => {
  const dir = freshDir();
  let s = await serve(['--parallel', '2', '--data-dir', dir]);
  let client = new OpenAI({ baseURL: `http://127.0.0.1:${s.port}/v1`, apiKey: KEY, maxRetries: 0 });
  const done = [];
  for (let i = 0; i < 3; i++) done.push(await client.responses.create({ model: modelId, input: `Fact ${i}: water is wet.`, max_output_tokens: 6, temperature: 0, reasoning: { effort: 'none' } }));
  // A long stream: kill the server as soon as text flows.
  const stream = await client.responses.create({ model: modelId, input: 'Write a long story.', max_output_tokens: 2000, temperature: 1, stream: true });
  let createdId = null, deltas = 0, err = null;
  try {
    for await (const ev of stream) {
      if (ev.type === 'response.created') createdId = ev.response.id;
      if (ev.type === 'response.output_text.delta' || ev.type === 'response.reasoning_text.delta') {
        if (++deltas === 3) s.kill('SIGKILL');
      }
    }
  } catch (e) { err = e; }
  await stop(s);
  assert.equal(s.signalCode, 'SIGKILL');
  assert.ok(createdId, 'no response.created before the kill');
  assert.ok(err || deltas >= 3, 'the stream ended normally');

  s = await serve(['--parallel', '2', '--data-dir', dir]);
  client = new OpenAI({ baseURL: `http://127.0.0.1:${s.port}/v1`, apiKey: KEY, maxRetries: 0 });
  for (const r of done) {
    const got = await client.responses.retrieve(r.id);
    assert.deepEqual(got.output, r.output);
    assert.equal(got.status, r.status);
  }
  // The killed one never completed: absent or not completed, never a server error.
  const killed = await request(s.port, { path: `/v1/responses/${createdId}`, headers: { Authorization: `Bearer ${KEY}` } });
  assert.ok(killed.status === 404 || (killed.status === 200 && JSON.parse(killed.body).status !== 'completed'), `${killed.status} ${killed.body}`);
  // And the store still takes new responses and continues old ones.
  const next = await client.responses.create({ model: modelId, previous_response_id: done[2].id, input: 'And?', max_output_tokens: 4, temperature: 0, reasoning: { effort: 'none' } });
  assert.equal((await client.responses.retrieve(next.id)).previous_response_id, done[2].id);
  await stop(s, 'SIGTERM');
});

// ---------------------------------------------------------------- utility endpoints

test('/tokenize, /detokenize, /apply-template (llama-server shapes) agree with each other and with usage', { skip, timeout: 60000 }, async () => {
  const auth = { Authorization: `Bearer ${KEY}` };
  const text = 'Hello world, rivers flow.';
  const t = await postJson(port, '/tokenize', { content: text, add_special: false }, auth);
  assert.equal(t.status, 200, t.body);
  const { tokens } = JSON.parse(t.body);
  assert.ok(tokens.length >= 3 && tokens.every(Number.isInteger), t.body);
  const wp = JSON.parse((await postJson(port, '/tokenize', { content: text, add_special: false, with_pieces: true }, auth)).body);
  assert.deepEqual(wp.tokens.map((p) => p.id), tokens);
  assert.equal(wp.tokens.map((p) => p.piece).join(''), text);
  const d = await postJson(port, '/detokenize', { tokens }, auth);
  assert.equal(d.status, 200, d.body);
  assert.equal(JSON.parse(d.body).content, text);

  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `Token check ${Date.now()}` }];
  const a = await postJson(port, '/apply-template', { messages, chat_template_kwargs: { enable_thinking: false } }, auth);
  assert.equal(a.status, 200, a.body);
  const { prompt } = JSON.parse(a.body);
  assert.ok(prompt.includes(messages[1].content) && prompt.includes('Be brief.'), prompt);
  const pt = JSON.parse((await postJson(port, '/tokenize', { content: prompt, add_special: true }, auth)).body).tokens;
  const chat = await postJson(port, '/v1/chat/completions', { messages, max_tokens: 1, chat_template_kwargs: { enable_thinking: false } }, auth);
  assert.equal(chat.status, 200, chat.body);
  assert.equal(JSON.parse(chat.body).usage.prompt_tokens, pt.length);
  const bad = await postJson(port, '/detokenize', { tokens: 'nope' }, auth);
  assert.equal(bad.status, 400, bad.body);
  const noKey = await postJson(port, '/tokenize', { content: text });
  assert.equal(noKey.status, 401);
  assertAlive();
});
