// The Anthropic Messages request fields (POST /v1/messages and /v1/messages/count_tokens):
// the table parse_messages_request consults, docs/api.md mirrors and /openapi.json shows.
#include <array>

#include "sluice/api/field_policy.hpp"

namespace sluice::api {
namespace {

using enum field_use;

constexpr std::array k_fields = std::to_array<field_rule>({
    {"model", k_messages, honoured, R"({"type":"string"})", "required; any name is served by the loaded model"},
    {"max_tokens", k_messages, honoured, R"({"type":"integer","minimum":1,"maximum":1048576})", "required (not by count_tokens); 1..1048576"},
    {"messages", k_messages, honoured,
     R"({"type":"array","minItems":1,"items":{"type":"object","required":["role","content"],"properties":{"role":{"enum":["user","assistant"]},"content":{"oneOf":[{"type":"string"},{"type":"array","items":{"type":"object","required":["type"],"properties":{"type":{"enum":["text","tool_use","tool_result","thinking","redacted_thinking"]},"text":{"type":"string"},"id":{"type":"string"},"name":{"type":"string"},"input":{"type":"object"},"tool_use_id":{"type":"string"},"content":{"oneOf":[{"type":"string"},{"type":"array","items":{"type":"object"}}]},"is_error":{"type":"boolean"},"thinking":{"type":"string"},"signature":{"type":"string"},"cache_control":{"type":"object"}}}}]}}}})",
     "user and assistant turns; content a string or text, tool_use, tool_result, thinking and redacted_thinking blocks"},
    {"system", k_messages, honoured, R"({"oneOf":[{"type":"string"},{"type":"array","items":{"type":"object","required":["type","text"],"properties":{"type":{"const":"text"},"text":{"type":"string"},"cache_control":{"type":"object"}}}}]})",
     "a string or text blocks: the system message"},
    {"stop_sequences", k_messages, honoured, R"({"type":"array","maxItems":16,"items":{"type":"string","minLength":1,"maxLength":512}})", "up to 16 strings of 1..512 bytes"},
    {"temperature", k_messages, honoured, R"({"type":"number","minimum":0,"maximum":1})", "0..1 (0: greedy)"},
    {"top_p", k_messages, honoured, R"({"type":"number","minimum":0,"maximum":1})", "0..1"},
    {"top_k", k_messages, honoured, R"({"type":"integer","minimum":0,"maximum":100000})", "0..100000 (0: off)"},
    {"stream", k_messages, honoured, R"({"type":"boolean"})", "server-sent events in Anthropic's event grammar"},
    {"tools", k_messages, honoured,
     R"({"type":"array","maxItems":256,"items":{"type":"object","required":["name","input_schema"],"properties":{"type":{"const":"custom"},"name":{"type":"string","pattern":"^[a-zA-Z0-9_.-]{1,128}$"},"description":{"type":"string"},"input_schema":{"type":"object"},"strict":{"type":"boolean"},"cache_control":{"type":"object"}}}})",
     "client tools (name, description, input_schema); server tools are refused"},
    {"tool_choice", k_messages, honoured,
     R"({"type":"object","required":["type"],"properties":{"type":{"enum":["auto","any","tool","none"]},"name":{"type":"string"},"disable_parallel_tool_use":{"type":"boolean"}}})",
     "auto, any, tool (with name) or none; any and tool are enforced by a grammar"},
    {"thinking", k_messages, honoured,
     R"({"type":"object","required":["type"],"properties":{"type":{"enum":["enabled","disabled","adaptive"]},"budget_tokens":{"type":"integer","minimum":0,"maximum":1048576}}})",
     "enabled or adaptive: the template's enable_thinking on; disabled: off; budget_tokens is checked, not enforced"},
    {"metadata", k_messages, ignored, R"({"type":"object"})", "checked to be an object; no effect on the output"},
    {"service_tier", k_messages, ignored, R"({"type":"string"})", "one tier here"},
    {"context_management", k_messages, ignored, R"({"type":"object"})", "the context is never edited: a request that cannot fit is refused"},
    {"container", k_messages, ignored, R"({"type":["object","string"]})", "no code-execution containers here"},
    {"mcp_servers", k_messages, ignored, R"({"type":"array"})", "no MCP servers are contacted"},
    {"output_config", k_messages, ignored, R"({"type":"object"})", "hints such as effort: no effect on a local model"},
    {"anthropic_version", k_messages, ignored, R"({"type":"string"})", "any version is accepted"},
    {"anthropic_beta", k_messages, ignored, R"({"type":["array","string"]})", "beta flags change nothing here"},
    {"betas", k_messages, ignored, R"({"type":"array","items":{"type":"string"}})", "beta flags change nothing here"},
    {"user", k_messages, ignored, R"({"type":"string"})", "an end-user id: no effect on the output"},
});

}  // namespace

std::span<const field_rule> messages_fields() { return k_fields; }

}  // namespace sluice::api
