// The OpenAI Responses request fields (POST /v1/responses): the table
// parse_responses_request consults, docs/api.md mirrors and /openapi.json shows.
#include <array>

#include "sluice/api/field_policy.hpp"

namespace sluice::api {
namespace {

using enum field_use;

constexpr std::array k_fields = std::to_array<field_rule>({
    {"model", k_responses, honoured, R"({"type":"string"})", "any name is served by the loaded model"},
    {"input", k_responses, honoured,
     R"({"oneOf":[{"type":"string"},{"type":"array","maxItems":100000,"items":{"type":"object","properties":{"type":{"enum":["message","function_call","function_call_output","reasoning"]},"role":{"enum":["user","assistant","system","developer"]},"content":{"oneOf":[{"type":"string"},{"type":"array","items":{"type":"object","required":["type","text"],"properties":{"type":{"enum":["input_text","output_text","text","summary_text","reasoning_text"]},"text":{"type":"string"}}}}]},"call_id":{"type":"string"},"name":{"type":"string"},"arguments":{"type":"string"},"output":{"oneOf":[{"type":"string"},{"type":"array"}]},"summary":{"type":"array"}}}}]})",
     "a string, or message, function_call, function_call_output and reasoning items; required without previous_response_id"},
    {"instructions", k_responses, honoured, R"({"type":"string"})", "a system message for this turn only"},
    {"previous_response_id", k_responses, honoured, R"({"type":"string"})", "continues a stored response's conversation (visible only to the key that stored it)"},
    {"store", k_responses, honoured, R"({"type":"boolean","default":true})", "keep the response in the store (default true)"},
    {"metadata", k_responses, honoured, R"({"type":"object"})", "stored and echoed in the Response object"},
    {"stream", k_responses, honoured, R"({"type":"boolean"})", "server-sent events with sequence_number"},
    {"max_output_tokens", k_responses, honoured, R"({"type":"integer","minimum":1,"maximum":1048576})", "1..1048576; a cut-off answer is incomplete"},
    {"temperature", k_responses, honoured, R"({"type":"number","minimum":0,"maximum":2})", "0..2 (0: greedy)"},
    {"top_p", k_responses, honoured, R"({"type":"number","minimum":0,"maximum":1})", "0..1"},
    {"tools", k_responses, honoured,
     R"({"type":"array","items":{"type":"object","required":["type"],"properties":{"type":{"type":"string"},"name":{"type":"string"},"description":{"type":"string"},"parameters":{"type":"object"},"strict":{"type":"boolean"}}}})",
     "function tools; other types (web_search, ...) cannot run here and are dropped and named in x-sluice-ignored-fields"},
    {"tool_choice", k_responses, honoured,
     R"({"oneOf":[{"enum":["none","auto","required"]},{"type":"object","required":["type"],"properties":{"type":{"const":"function"},"name":{"type":"string"}}}]})",
     "none, auto, required, or a named function; required and named are enforced by a grammar"},
    {"parallel_tool_calls", k_responses, honoured, R"({"type":"boolean"})", "false: at most one call (enforced)"},
    {"text", k_responses, honoured,
     R"({"type":"object","properties":{"format":{"type":"object","required":["type"],"properties":{"type":{"enum":["text","json_object","json_schema"]},"name":{"type":"string"},"schema":{"type":["object","boolean"]},"strict":{"type":"boolean"},"description":{"type":"string"}}},"verbosity":{"type":"string"}}})",
     "text.format json_object or json_schema: the output is generated under the schema's grammar"},
    {"reasoning", k_responses, honoured,
     R"({"type":"object","properties":{"effort":{"enum":["none","minimal","low","medium","high","xhigh"]},"summary":{"type":["string","null"]}}})",
     "effort is passed to the template; none turns a template's thinking off"},
    {"background", k_responses, honoured, R"({"type":"boolean"})", "false only; true is refused"},
    {"seed", k_responses, honoured, R"({"type":"integer"})", "any 64-bit integer; same seed, same output"},
    {"include", k_responses, ignored, R"({"type":"array","items":{"type":"string"}})", "nothing extra to include"},
    {"prompt_cache_key", k_responses, ignored, R"({"type":"string"})", "a routing hint; the prefix cache needs no key"},
    {"prompt_cache_retention", k_responses, ignored, R"({"type":"string"})", "the prefix cache keeps what --cache-ram holds"},
    {"user", k_responses, ignored, R"({"type":"string"})", "an end-user id: no effect on the output"},
    {"safety_identifier", k_responses, ignored, R"({"type":"string"})", "an end-user id: no effect on the output"},
    {"service_tier", k_responses, ignored, R"({"type":"string"})", "one tier here"},
    {"truncation", k_responses, ignored, R"({"type":"string"})", "the context is never truncated: a request that cannot fit is refused"},
    {"stream_options", k_responses, ignored, R"({"type":"object"})", "no stream options apply"},
    {"conversation", k_responses, ignored, R"({"type":["string","object"]})", "conversations are not stored; use previous_response_id"},
    {"top_logprobs", k_responses, ignored, R"({"type":"integer"})", "log probabilities are not returned here"},
});

}  // namespace

std::span<const field_rule> responses_fields() { return k_fields; }

}  // namespace sluice::api
