// Fuzzes the request parser and validator: arbitrary bytes as a chat and a completions
// body. Only api_error may escape, and a request that passes has its bounds; its
// structured-output spec (response_format, json_schema, grammar) compiles or is a 400, and
// so do its tools' call grammars.
#include <cstdlib>
#include <string_view>

#include "fuzz_target.hpp"
#include "sluice/api/api_error.hpp"
#include "sluice/api/completion_request.hpp"
#include "sluice/api/constraint.hpp"
#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/json_schema.hpp"
#include "sluice/tools/tool_grammar.hpp"

namespace {

// The request's tools compile into a grammar for every family that has one, or are refused
// with a schema_error (a 400); a GBNF the grammar parser rejects would be sluice's own bug.
void check_tool_grammars(const sluice::api::completion_request& r) {
    using namespace sluice::tools;
    for (const family f : {family::hermes, family::llama3, family::mistral, family::qwen_xml, family::generic}) {
        output_format fmt;
        fmt.calls = f;
        fmt.reasoning = reasoning_style::tags;
        fmt.think_open = "<think>";
        fmt.think_close = "</think>";
        try {
            const auto c = build_call_constraint(fmt, r.tools, r.tool_choice, r.parallel_tool_calls, reasoning_start::optional);
            if (!c.gbnf.empty()) (void)sluice::grammar::parse_gbnf(c.gbnf);
        } catch (const sluice::grammar::schema_error&) {
            return;  // a 400 naming the keyword
        } catch (const sluice::grammar::grammar_error&) {
            std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    for (const bool chat : {true, false}) {
        try {
            const auto r = chat ? sluice::api::parse_chat_request(body) : sluice::api::parse_completion_request(body);
            const auto& s = r.sampling;
            if (s.temperature < 0 || s.temperature > 2 || s.top_p < 0 || s.top_p > 1 || s.min_p < 0 || s.min_p > 1) std::abort();
            if (r.max_tokens && (*r.max_tokens < 1 || *r.max_tokens > (1 << 20))) std::abort();
            if (r.top_logprobs > 20 || r.stop.size() > 16) std::abort();
            if (chat && r.messages.empty()) std::abort();
            (void)sluice::api::compile_constraint(r.constraint);
            if (chat && !r.tools.empty()) check_tool_grammars(r);
        } catch (const sluice::api::api_error& e) {
            if (e.status != 400) std::abort();
        }
    }
    return 0;
}
