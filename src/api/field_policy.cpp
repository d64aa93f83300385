#include "sluice/api/field_policy.hpp"

#include <array>

namespace sluice::api {
namespace {

using enum field_use;

// Order: the OpenAI reference's fields, then llama-server's extensions.
constexpr std::array k_fields = std::to_array<field_rule>({
    {"model", k_both, honoured, R"({"type":"string"})", "checked to be a string; any name is served by the loaded model"},
    {"messages", k_chat, honoured, R"({"type":"array","minItems":1,"items":{"type":"object","required":["role"],"properties":{"role":{"enum":["system","developer","user","assistant","tool","function"]},"content":{"oneOf":[{"type":"string"},{"type":"array","items":{"type":"object","required":["type","text"],"properties":{"type":{"const":"text"},"text":{"type":"string"}}}},{"type":"null"}]},"name":{"type":"string"},"tool_calls":{"type":"array","items":{"type":"object"}},"tool_call_id":{"type":"string"},"reasoning_content":{"type":"string"}}}})", "system/developer, user, assistant (with tool_calls), tool; text content (string or text parts)"},
    {"prompt", k_completions, honoured, R"({"oneOf":[{"type":"string"},{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":1},{"type":"array","items":{"type":"integer","minimum":0},"minItems":1}]})", "a string, an array of one string, or an array of token ids"},
    {"max_tokens", k_both, honoured, R"({"type":"integer","minimum":1,"maximum":1048576})", "1..1048576; default: what is left of the context (completions: 16)"},
    {"max_completion_tokens", k_both, honoured, R"({"type":"integer","minimum":1,"maximum":1048576})", "same as max_tokens"},
    {"temperature", k_both, honoured, R"({"type":"number","minimum":0,"maximum":2})", "0..2 (0: greedy)"},
    {"top_p", k_both, honoured, R"({"type":"number","minimum":0,"maximum":1})", "0..1"},
    {"presence_penalty", k_both, honoured, R"({"type":"number","minimum":-2,"maximum":2})", "-2..2"},
    {"frequency_penalty", k_both, honoured, R"({"type":"number","minimum":-2,"maximum":2})", "-2..2"},
    {"logit_bias", k_both, honoured, R"({"type":"object","additionalProperties":{"type":"number","minimum":-100,"maximum":100}})", "token id -> -100..100"},
    {"logprobs", k_both, honoured, R"({"oneOf":[{"type":"boolean"},{"type":"integer","minimum":0,"maximum":20}]})", "chat: boolean; completions: 0..20 alternatives"},
    {"top_logprobs", k_chat, honoured, R"({"type":"integer","minimum":0,"maximum":20})", "0..20; needs logprobs: true"},
    {"seed", k_both, honoured, R"({"type":"integer"})", "any 64-bit integer; same seed, same output"},
    {"stop", k_both, honoured, R"({"oneOf":[{"type":"string","minLength":1,"maxLength":512},{"type":"array","maxItems":16,"items":{"type":"string","minLength":1,"maxLength":512}}]})", "a string or up to 16 strings of 1..512 bytes"},
    {"stream", k_both, honoured, R"({"type":"boolean"})", "server-sent events"},
    {"stream_options", k_both, honoured, R"({"type":"object","properties":{"include_usage":{"type":"boolean"},"include_obfuscation":{"type":"boolean"}},"additionalProperties":false})", "include_usage honoured; include_obfuscation accepted and ignored"},
    {"n", k_both, honoured, R"({"type":"integer","minimum":1,"maximum":128})", "1..128 choices; they share the prompt's KV (computed once)"},
    {"best_of", k_completions, honoured, R"({"type":"integer","minimum":1,"maximum":20})", "1 only; above 1 is refused"},
    {"echo", k_completions, honoured, R"({"type":"boolean"})", "the prompt is returned before the completion; with logprobs, the prompt tokens' logprobs too"},
    {"modalities", k_chat, honoured, R"({"type":"array","items":{"type":"string"}})", "[\"text\"] only; audio is refused"},
    {"tools", k_chat, honoured, R"({"type":"array","items":{"type":"object","required":["type","function"],"properties":{"type":{"const":"function"},"function":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"description":{"type":"string"},"parameters":{"type":"object"},"strict":{"type":"boolean"}}}}}})", "function tools, passed to the chat template; calls parsed into tool_calls (docs/tools.md)"},
    {"tool_choice", k_chat, honoured, R"({"oneOf":[{"enum":["none","auto","required"]},{"type":"object","required":["type","function"],"properties":{"type":{"const":"function"},"function":{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}}}]})", "none, auto, required, or a named function; required and named are enforced by a grammar"},
    {"parallel_tool_calls", k_chat, honoured, R"({"type":"boolean"})", "false: at most one call (enforced)"},
    {"response_format", k_both, honoured, R"({"type":"object","required":["type"],"properties":{"type":{"enum":["text","json_object","json_schema"]},"json_schema":{"type":"object","properties":{"name":{"type":"string"},"schema":{"type":["object","boolean"]},"strict":{"type":"boolean"}}}}})", "text, json_object or json_schema: the output is generated under the schema's grammar (docs/structured-output.md)"},
    {"user", k_both, ignored, R"({"type":"string"})", "an end-user id for abuse tracking: no effect on the output"},
    {"safety_identifier", k_chat, ignored, R"({"type":"string"})", "an end-user id: no effect on the output"},
    {"metadata", k_chat, ignored, R"({"type":"object"})", "stored-completion tags: no effect on the output"},
    {"store", k_chat, ignored, R"({"type":"boolean"})", "sluice stores nothing"},
    {"service_tier", k_chat, ignored, R"({"type":"string"})", "one tier here"},
    {"prompt_cache_key", k_chat, ignored, R"({"type":"string"})", "a routing hint; the prefix cache needs no key"},
    {"prompt_cache_retention", k_chat, ignored, R"({"type":"string"})", "the prefix cache keeps what --cache-ram holds"},
    {"verbosity", k_chat, ignored, R"({"type":"string"})", "a hint for OpenAI's reasoning models; local models have no such control"},
    {"reasoning_effort", k_chat, honoured, R"({"enum":["none","minimal","low","medium","high","xhigh"]})", "passed to templates that read reasoning_effort (gpt-oss); others ignore it"},
    {"audio", k_chat, refused, R"({"type":"object"})", "audio output is not supported", ""},
    {"prediction", k_chat, refused, R"({"type":"object"})", "predicted outputs are not supported", ""},
    {"web_search_options", k_chat, refused, R"({"type":"object"})", "web search is not supported", ""},
    {"functions", k_chat, honoured, R"({"type":"array","items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"description":{"type":"string"},"parameters":{"type":"object"}}}})", "legacy form of tools; the answer is message.function_call (one call), finish_reason function_call"},
    {"function_call", k_chat, honoured, R"({"oneOf":[{"enum":["none","auto"]},{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}]})", "legacy form of tool_choice: none, auto, or {name}"},
    {"suffix", k_completions, refused, R"({"type":"string"})", "fill-in-the-middle is not supported", "\"\""},
    // llama-server's extensions.
    {"top_k", k_both, honoured, R"({"type":"integer","minimum":0,"maximum":100000})", "0..100000 (0: off)"},
    {"min_p", k_both, honoured, R"({"type":"number","minimum":0,"maximum":1})", "0..1"},
    {"repeat_penalty", k_both, honoured, R"({"type":"number","minimum":0.01,"maximum":10})", "0.01..10 (1: off); also spelled repetition_penalty"},
    {"repetition_penalty", k_both, honoured, R"({"type":"number","minimum":0.01,"maximum":10})", "same as repeat_penalty"},
    {"repeat_last_n", k_both, honoured, R"({"type":"integer","minimum":-1,"maximum":1048576})", "-1..1048576: the penalty window (-1: everything so far)"},
    {"n_predict", k_both, honoured, R"({"type":"integer","minimum":-1,"maximum":1048576})", "llama-server's name for max_tokens (-1: no limit)"},
    {"ignore_eos", k_both, honoured, R"({"type":"boolean"})", "keep generating past end-of-generation tokens"},
    {"chat_template_kwargs", k_chat, honoured, R"({"type":"object"})", "extra variables for the chat template (e.g. enable_thinking)"},
    {"cache_prompt", k_both, ignored, R"({"type":"boolean"})", "the prefix cache is always on (and exact)"},
    {"id_slot", k_both, ignored, R"({"type":"integer"})", "sequences are scheduled, not pinned to slots"},
    {"n_keep", k_both, ignored, R"({"type":"integer"})", "the context never shifts: a request that cannot fit is refused"},
    {"min_keep", k_both, ignored, R"({"type":"integer"})", "samplers always keep at least one token"},
    {"timings_per_token", k_both, ignored, R"({"type":"boolean"})", "no per-token timings are reported"},
    {"return_tokens", k_both, ignored, R"({"type":"boolean"})", "token ids are not returned"},
    {"reasoning_format", k_chat, honoured, R"({"enum":["none","auto","deepseek","deepseek-legacy"]})", "none: reasoning stays in content as written; auto (default), deepseek: split into reasoning_content"},
    {"grammar", k_both, honoured, R"({"type":"string"})", "GBNF (llama.cpp's dialect) the output must match"},
    {"json_schema", k_both, honoured, R"({"type":["object","boolean"]})", "a JSON Schema the output must match (as response_format json_schema)"},
    {"typical_p", k_both, refused, R"({"type":"number"})", "typical sampling is not supported (1 is accepted)", "1"},
    {"mirostat", k_both, refused, R"({"type":"integer"})", "mirostat is not supported (0 is accepted)", "0"},
    {"mirostat_tau", k_both, ignored, R"({"type":"number"})", "only used by mirostat"},
    {"mirostat_eta", k_both, ignored, R"({"type":"number"})", "only used by mirostat"},
    {"dry_multiplier", k_both, refused, R"({"type":"number"})", "DRY sampling is not supported (0 is accepted)", "0"},
    {"dry_base", k_both, ignored, R"({"type":"number"})", "only used by DRY sampling"},
    {"dry_allowed_length", k_both, ignored, R"({"type":"integer"})", "only used by DRY sampling"},
    {"dry_penalty_last_n", k_both, ignored, R"({"type":"integer"})", "only used by DRY sampling"},
    {"dry_sequence_breakers", k_both, ignored, R"({"type":"array","items":{"type":"string"}})", "only used by DRY sampling"},
    {"xtc_probability", k_both, refused, R"({"type":"number"})", "XTC sampling is not supported (0 is accepted)", "0"},
    {"xtc_threshold", k_both, ignored, R"({"type":"number"})", "only used by XTC sampling"},
    {"dynatemp_range", k_both, refused, R"({"type":"number"})", "dynamic temperature is not supported (0 is accepted)", "0"},
    {"dynatemp_exponent", k_both, ignored, R"({"type":"number"})", "only used by dynamic temperature"},
    {"top_n_sigma", k_both, refused, R"({"type":"number"})", "top-n-sigma sampling is not supported (-1 or 0 is accepted)", "-1|0"},
    {"penalize_nl", k_both, refused, R"({"type":"boolean"})", "newline penalty is not supported (false is accepted)", "false"},
    {"samplers", k_both, refused, R"({"type":["array","string"]})", "the sampler order is fixed", ""},
    {"post_sampling_probs", k_both, refused, R"({"type":"boolean"})", "probabilities after sampling are not reported (false is accepted)", "false"},
    {"n_probs", k_both, refused, R"({"type":"integer"})", "use logprobs / top_logprobs (0 is accepted)", "0"},
    {"t_max_predict_ms", k_both, refused, R"({"type":"integer"})", "time limits are not supported (0 is accepted)", "0"},
    {"lora", k_both, refused, R"({"type":"array"})", "LoRA adapters are not supported", "[]"},
});

}  // namespace

std::span<const field_rule> request_fields() { return k_fields; }

const field_rule* find_field(std::string_view name, endpoint_mask endpoint) {
    const auto table = endpoint == k_messages ? messages_fields() : endpoint == k_responses ? responses_fields() : request_fields();
    for (const auto& f : table) {
        if (f.name == name && (f.endpoints & endpoint) != 0) return &f;
    }
    return nullptr;
}

}  // namespace sluice::api
