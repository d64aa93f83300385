// Fuzzes the request parser and validator: arbitrary bytes as a chat and a completions
// body. Only api_error may escape, and a request that passes has its bounds; its
// structured-output spec (response_format, json_schema, grammar) compiles or is a 400.
#include <cstdlib>
#include <string_view>

#include "fuzz_target.hpp"
#include "sluice/api/api_error.hpp"
#include "sluice/api/completion_request.hpp"
#include "sluice/api/constraint.hpp"

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
        } catch (const sluice::api::api_error& e) {
            if (e.status != 400) std::abort();
        }
    }
    return 0;
}
