// An agent's conversation against a running sluice (bench/agent_bench.sh starts one): a long
// first turn (system prompt of ~`--first` tokens plus 10 tools, as Codex and Claude Code
// open), then `--turns` turns that each add the assistant's reply and a user message of
// ~`--add` tokens. Prints, per turn, the prompt, cached and new tokens and the time to first
// token (streamed chat completion), then how later turns' TTFT compares with the first turn's
// time per prompt token: with the prefix cache, a later turn costs its new tokens, not the
// conversation's length. Prints numbers; not a test.
//
//   node bench/agent_bench.mjs --port PORT [--first 12000] [--turns 5] [--add 300]
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const port = Number(args.port);
const firstTokens = Number(args.first ?? 12000), turns = Number(args.turns ?? 5), add = Number(args.add ?? 300);
if (!port) {
  console.error('usage: node bench/agent_bench.mjs --port PORT [--first 12000] [--turns 5] [--add 300]');
  process.exit(2);
}

// Text of roughly n tokens (~4.5 characters per token for this English-like filler); the
// server's usage reports the real count.
const words = ['repository', 'function', 'returns', 'the', 'value', 'of', 'a', 'buffer', 'when', 'parsing', 'input', 'files', 'and', 'tests',
               'should', 'cover', 'edge', 'cases', 'such', 'as', 'empty', 'lines', 'unicode', 'names', 'or', 'missing', 'fields', 'in', 'config'];
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const text = (n) => {
  const out = [];
  for (let i = 0; i < n * 0.8; i++) out.push(words[Math.floor(rand() * words.length)] + (i % 14 === 13 ? '.\n' : ''));
  return out.join(' ');
};
const tools = Array.from({ length: 10 }, (_, i) => ({
  type: 'function',
  function: {
    name: ['read_file', 'write_file', 'list_dir', 'run_shell', 'search_code', 'apply_patch', 'git_status', 'git_diff', 'web_fetch', 'ask_user'][i],
    description: `Tool ${i}: ${text(40)}`,
    parameters: { type: 'object', properties: { path: { type: 'string', description: text(10) }, limit: { type: 'integer', minimum: 1 },
                                                 mode: { type: 'string', enum: ['fast', 'careful'] } }, required: ['path'] },
  },
}));

async function turn(messages) {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${process.env.SLUICE_KEY ?? 'none'}` },
    body: JSON.stringify({ model: 'm', messages, tools, max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let ttft = null, usage = null, buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      if (!frame.startsWith('data: ') || frame === 'data: [DONE]') continue;
      const data = JSON.parse(frame.slice(6));
      if (data.error) throw new Error(JSON.stringify(data.error));
      const d = data.choices?.[0]?.delta;
      if (ttft === null && d && (d.content || d.reasoning_content || d.tool_calls)) ttft = performance.now() - t0;
      if (data.usage) usage = data.usage;
    }
  }
  return { ttft: ttft ?? performance.now() - t0, usage };
}

const messages = [{ role: 'system', content: `You are a coding agent. Project notes follow.\n${text(firstTokens - 1400)}` },
                  { role: 'user', content: `Fix the failing test. ${text(60)}` }];
const rows = [];
for (let t = 0; t <= turns; t++) {
  const r = await turn(messages);
  const cached = r.usage.prompt_tokens_details?.cached_tokens ?? 0;
  rows.push({ turn: t + 1, prompt: r.usage.prompt_tokens, cached, fresh: r.usage.prompt_tokens - cached, ttft: r.ttft });
  console.log(`turn ${t + 1}: prompt ${r.usage.prompt_tokens} tokens, cached ${cached}, new ${r.usage.prompt_tokens - cached}: ` +
              `time to first token ${(r.ttft / 1000).toFixed(2)} s`);
  messages.push({ role: 'assistant', content: text(add * 0.4) }, { role: 'user', content: `Now the next file. ${text(add * 0.6)}` });
}
const perToken = rows[0].ttft / rows[0].fresh;  // the first turn's cost per computed prompt token
const later = rows.slice(1);
console.log(`first turn: ${(perToken).toFixed(2)} ms per prompt token`);
for (const r of later) {
  console.log(`turn ${r.turn}: TTFT ${(r.ttft / 1000).toFixed(2)} s = ${(r.ttft / perToken).toFixed(0)} first-turn tokens' worth for ${r.fresh} new ` +
              `(${(r.ttft / (perToken * r.prompt) * 100).toFixed(1)}% of recomputing its whole ${r.prompt}-token prompt)`);
}
