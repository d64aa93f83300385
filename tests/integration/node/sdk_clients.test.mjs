// Tool calling through the clients people actually use against an OpenAI-compatible server:
// the official `openai` package (create with stream, the chat.completions.stream helper,
// runTools), the Vercel AI SDK (`ai` + `@ai-sdk/openai-compatible`: generateText,
// streamText, generateObject) and LangChain.js (`@langchain/openai` ChatOpenAI.bindTools).
// Each client parses sluice's answers with its own code; the arguments it hands back are
// checked with ajv against the tool's JSON Schema. Client retries are off so that a failed
// request fails the test. The model (Qwen 2.5's template, Hermes tool calls) has random
// weights: the token that closes a JSON string gets a +30 logit_bias, passed through each
// client's extra-body mechanism. Needs SLUICE_BINARY and SLUICE_SHARED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import Ajv from 'ajv';
import OpenAI from 'openai';
import { generateText, streamText, generateObject, tool, jsonSchema } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { z } from 'zod';
import { startServer, request, singleTokenId, specialTokenIds } from './helpers.mjs';

const SHARED = process.env.SLUICE_SHARED || '../shared';
const MODEL = `${SHARED}/models/qwen2-Q4_K_M.gguf`;
const required = process.env.SLUICE_REQUIRE_SHARED === '1';
const skip = !fs.existsSync(MODEL) && !required ? `shared models not found under ${SHARED}/models` : false;
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const MAX_TOKENS = 200;

const WEATHER = {
  type: 'object', additionalProperties: false, required: ['city'],
  properties: { city: { type: 'string', description: 'City name' },
                unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
                days: { type: 'integer', minimum: 1, maximum: 7 } },
};
const FLIGHTS = {
  type: 'object', additionalProperties: false, required: ['origin', 'destination', 'date'],
  properties: { origin: { type: 'string', pattern: '^[A-Z]{3}$' },
                destination: { type: 'string', pattern: '^[A-Z]{3}$' },
                date: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
                passengers: { type: 'integer', minimum: 1, maximum: 9 } },
};
const OPENAI_TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather for a city', parameters: WEATHER } },
  { type: 'function', function: { name: 'search_flights', description: 'Find flights between two airports', parameters: FLIGHTS } },
];
const ajv = new Ajv({ strict: false, logger: false });
const validate = { get_weather: ajv.compile(WEATHER), search_flights: ajv.compile(FLIGHTS) };
const PROMPT = 'What is the weather in Paris for the next 3 days, and which flights go from CDG to JFK on 2026-12-24?';

let srv, port, baseURL, modelId, quote, objectBias;
globalThis.AI_SDK_LOG_WARNINGS = false;  // generateObject's deprecation notice, unsupported topK etc.

before(async () => {
  if (skip) return;
  srv = await startServer(['-m', MODEL, '--parallel', '4', '--ctx-size', '4096']);
  port = srv.port;
  baseURL = `http://127.0.0.1:${port}/v1`;
  modelId = JSON.parse((await request(port, { path: '/v1/models' })).body).data[0].id;
  quote = await singleTokenId(MODEL, '"');
  // For generateObject: the end of turn up (the grammar allows it only after the closing
  // brace) and a newline down (JSON whitespace a random model would repeat).
  objectBias = { [quote]: 30, [await singleTokenId(MODEL, '\n')]: -100 };
  for (const id of await specialTokenIds(MODEL, ['<|im_end|>', '<|endoftext|>'])) objectBias[id] = 20;
});

after(() => {
  if (srv && srv.exitCode_ === undefined) srv.kill('SIGKILL');
});

// Asserts a call (name + argument object) is to a known tool with valid arguments.
function assertValidCall(name, args, only) {
  assert.ok(only ? name === only : name in validate, `call to ${name}`);
  assert.ok(validate[name](args), `${name}(${JSON.stringify(args)}): ${JSON.stringify(validate[name].errors)}`);
}

// Over SEEDS, runs `one(seed)` → {finish, check()}; runs check on finished ones; at most a
// quarter may hit max_tokens.
async function overSeeds(label, one) {
  const results = await Promise.all(SEEDS.map(async (seed) => ({ seed, ...(await one(seed)) })));
  let finished = 0;
  for (const r of results) {
    if (r.length) continue;
    finished++;
    await r.check();
  }
  console.log(`${label}: ${finished} of ${SEEDS.length} seeds finished with calls, all validated`);
  assert.ok(finished >= 0.75 * SEEDS.length, `${label}: only ${finished} of ${SEEDS.length} finished`);
}

test('openai: chat.completions.create stream with tools and tool_choice required equals the non-streamed answer', { skip, timeout: 300000 }, async () => {
  const client = new OpenAI({ baseURL, apiKey: 'dummy', maxRetries: 0 });
  await overSeeds('openai create stream', async (seed) => {
    const params = { model: modelId, messages: [{ role: 'user', content: PROMPT }], tools: OPENAI_TOOLS, tool_choice: 'required',
                     temperature: 1, seed, max_tokens: MAX_TOKENS, logit_bias: { [quote]: 30 } };
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const calls = [];
    let content = '', finish = null;
    for await (const chunk of stream) {
      const ch = chunk.choices[0];
      if (!ch) continue;
      if (ch.finish_reason) finish = ch.finish_reason;
      content += ch.delta.content || '';
      for (const tc of ch.delta.tool_calls || []) {
        if (!calls[tc.index]) {
          assert.match(tc.id, /^call_/);
          assert.equal(tc.type, 'function');
          calls[tc.index] = { id: tc.id, name: tc.function.name, arguments: tc.function.arguments ?? '' };
        } else {
          calls[tc.index].arguments += tc.function?.arguments ?? '';
        }
      }
    }
    const plain = await client.chat.completions.create(params);
    const pm = plain.choices[0].message;
    return {
      length: finish === 'length',
      check: () => {
        assert.equal(finish, 'tool_calls');
        assert.equal(plain.choices[0].finish_reason, 'tool_calls');
        assert.equal(content, '');
        assert.equal(pm.content, null);
        assert.deepEqual(calls.map((c) => [c.name, c.arguments]), pm.tool_calls.map((c) => [c.function.name, c.function.arguments]));
        for (const c of calls) assertValidCall(c.name, JSON.parse(c.arguments));
      },
    };
  });
});

test('openai: chat.completions.stream helper accumulates the calls (named tool_choice)', { skip, timeout: 300000 }, async () => {
  const client = new OpenAI({ baseURL, apiKey: 'dummy', maxRetries: 0 });
  await overSeeds('openai chat.completions.stream', async (seed) => {
    const done = [];
    const stream = client.chat.completions.stream({
      model: modelId, messages: [{ role: 'user', content: PROMPT }], tools: OPENAI_TOOLS,
      tool_choice: { type: 'function', function: { name: 'search_flights' } },
      temperature: 1, seed, max_tokens: MAX_TOKENS, logit_bias: { [quote]: 30 } });
    stream.on('tool_calls.function.arguments.done', (e) => done.push(e));
    const final = await stream.finalChatCompletion();
    const ch = final.choices[0];
    return {
      length: ch.finish_reason === 'length',
      check: () => {
        assert.equal(ch.finish_reason, 'tool_calls');
        assert.ok(ch.message.tool_calls.length >= 1);
        assert.equal(done.length, ch.message.tool_calls.length, 'one arguments.done event per call');
        for (const c of ch.message.tool_calls) {
          assert.match(c.id, /^call_/);
          assertValidCall(c.function.name, JSON.parse(c.function.arguments), 'search_flights');
        }
        for (const e of done) assertValidCall(e.name, JSON.parse(e.arguments), 'search_flights');
      },
    };
  });
});

test('openai: runTools (streaming) calls the named function with valid arguments and sends the result back', { skip, timeout: 300000 }, async () => {
  const client = new OpenAI({ baseURL, apiKey: 'dummy', maxRetries: 0 });
  let ran = 0;
  for (const seed of SEEDS.slice(0, 4)) {
    const got = [];
    const runner = client.chat.completions.runTools({
      model: modelId, stream: true, messages: [{ role: 'user', content: PROMPT }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      temperature: 1, seed, max_tokens: MAX_TOKENS, logit_bias: { [quote]: 30 },
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather for a city', parameters: WEATHER,
        parse: JSON.parse, function: (args) => { got.push(args); return { temperature_c: 18, sky: 'cloudy' }; } } }],
    }, { maxChatCompletions: 3 });
    try {
      await runner.done();
    } catch (e) {
      // The SDK throws when a completion ends at max_tokens (finish_reason length) where it
      // wanted a whole call or answer: like a run whose calls never completed, not a failure.
      if (e?.constructor?.name !== 'LengthFinishReasonError') throw e;
    }
    if (got.length === 0) continue;  // every completion hit max_tokens
    ran++;
    for (const args of got) assertValidCall('get_weather', args, 'get_weather');
    const msgs = runner.messages;
    const toolMsg = msgs.find((m) => m.role === 'tool');
    assert.ok(toolMsg, 'the tool result is in the conversation');
    assert.equal(JSON.parse(toolMsg.content).sky, 'cloudy');
  }
  console.log(`openai runTools: ${ran} of 4 runs called the function`);
  assert.ok(ran >= 3, `only ${ran} of 4 runTools runs called the function`);
});

// The AI SDK provider; logit_bias (not an AI SDK setting) goes into the body through
// providerOptions under the provider's name, which openai-compatible passes through.
function aiModel() {
  const provider = createOpenAICompatible({ name: 'sluice', baseURL, apiKey: 'dummy', supportsStructuredOutputs: true, includeUsage: true });
  return provider.chatModel(modelId);
}
const aiExtras = (seed) => ({ temperature: 1, seed, maxOutputTokens: MAX_TOKENS, maxRetries: 0,
                              providerOptions: { sluice: { logit_bias: { [quote]: 30 } } } });

test('ai: generateText with a JSON-schema tool and toolChoice required returns validated tool calls', { skip, timeout: 300000 }, async () => {
  const model = aiModel();
  await overSeeds('ai generateText', async (seed) => {
    const r = await generateText({ model, prompt: PROMPT, toolChoice: 'required', ...aiExtras(seed),
      tools: { get_weather: tool({ description: 'Current weather for a city', inputSchema: jsonSchema(WEATHER) }) } });
    return {
      length: r.finishReason === 'length',
      check: () => {
        assert.equal(r.finishReason, 'tool-calls');
        assert.ok(r.toolCalls.length >= 1, JSON.stringify(r.content));
        for (const c of r.toolCalls) {
          assert.ok(!c.invalid, `AI SDK marked the call invalid: ${JSON.stringify(c)}`);
          assert.match(c.toolCallId, /^call_/);
          assertValidCall(c.toolName, c.input, 'get_weather');
        }
        assert.ok(r.usage.outputTokens > 0);
      },
    };
  });
});

test('ai: streamText with a zod tool and toolChoice required', { skip, timeout: 300000 }, async () => {
  const model = aiModel();
  const flights = z.object({ origin: z.string().regex(/^[A-Z]{3}$/), destination: z.string().regex(/^[A-Z]{3}$/),
                             date: z.string().regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/), passengers: z.number().int().min(1).max(9).optional() }).strict();
  await overSeeds('ai streamText', async (seed) => {
    const r = streamText({ model, prompt: PROMPT, toolChoice: 'required', ...aiExtras(seed),
      tools: { search_flights: tool({ description: 'Find flights between two airports', inputSchema: flights }) } });
    const errors = [];
    for await (const part of r.fullStream) if (part.type === 'error') errors.push(part.error);
    const [finish, calls] = [await r.finishReason, await r.toolCalls];
    return {
      length: finish === 'length',
      check: () => {
        assert.deepEqual(errors, []);
        assert.equal(finish, 'tool-calls');
        assert.ok(calls.length >= 1);
        for (const c of calls) {
          assert.ok(!c.invalid, `AI SDK marked the call invalid: ${JSON.stringify(c)}`);
          assertValidCall(c.toolName, c.input, 'search_flights');
        }
      },
    };
  });
});

test('ai: generateObject with a zod schema (response_format json_schema) validates', { skip, timeout: 300000 }, async () => {
  const model = aiModel();
  const schema = z.object({ city: z.string().max(30), unit: z.enum(['celsius', 'fahrenheit']), days: z.number().int().min(1).max(7),
                            tags: z.array(z.string().max(12)).max(3) });
  const check = ajv.compile(z.toJSONSchema(schema, { target: 'draft-7' }));
  let ok = 0, lengths = 0;
  for (const seed of SEEDS) {
    try {
      const r = await generateObject({ model, schema, prompt: 'Weather request as JSON.', ...aiExtras(seed),
                                       providerOptions: { sluice: { logit_bias: objectBias } } });
      assert.ok(check(r.object), `${JSON.stringify(r.object)}: ${JSON.stringify(check.errors)}`);
      ok++;
    } catch (e) {
      // Only a cut-off answer (finishReason length) may fail to parse.
      if (e?.finishReason === 'length') { lengths++; continue; }
      throw e;
    }
  }
  console.log(`ai generateObject: ${ok} objects validated, ${lengths} cut by max tokens`);
  assert.ok(ok >= 0.75 * SEEDS.length);
});

test('langchain: ChatOpenAI.bindTools with tool_choice required; invoke and stream give valid tool_calls', { skip, timeout: 300000 }, async () => {
  const llmFor = (seed) => new ChatOpenAI({ model: modelId, apiKey: 'dummy', configuration: { baseURL }, maxRetries: 0, temperature: 1,
                                             maxTokens: MAX_TOKENS, modelKwargs: { logit_bias: { [quote]: 30 }, seed } });
  await overSeeds('langchain invoke', async (seed) => {
    const bound = llmFor(seed).bindTools(OPENAI_TOOLS, { tool_choice: 'required' });
    const msg = await bound.invoke(PROMPT);
    const finish = msg.response_metadata?.finish_reason;
    return {
      length: finish === 'length',
      check: () => {
        assert.equal(finish, 'tool_calls');
        assert.deepEqual(msg.invalid_tool_calls ?? [], []);
        assert.ok(msg.tool_calls.length >= 1);
        for (const c of msg.tool_calls) {
          assert.match(c.id, /^call_/);
          assertValidCall(c.name, c.args);
        }
      },
    };
  });
  await overSeeds('langchain stream', async (seed) => {
    const bound = llmFor(seed).bindTools(OPENAI_TOOLS, { tool_choice: { type: 'function', function: { name: 'get_weather' } } });
    let full;
    for await (const chunk of await bound.stream(PROMPT)) full = full ? full.concat(chunk) : chunk;
    const finish = full.response_metadata?.finish_reason;
    return {
      length: finish === 'length',
      check: () => {
        assert.equal(finish, 'tool_calls');
        assert.deepEqual(full.invalid_tool_calls ?? [], []);
        assert.ok(full.tool_calls.length >= 1);
        for (const c of full.tool_calls) assertValidCall(c.name, c.args, 'get_weather');
      },
    };
  });
});
