// POST /v1/chat/completions and /v1/completions bodies, parsed and validated into a
// typed request. Every numeric field is bounded (docs/api.md lists the ranges); fields
// sluice cannot honour (tools, response_format, image parts, n > 1, ...) and unknown
// fields are refused with 400 naming the field -- never silently dropped.
#pragma once

#include <boost/json/array.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/engine/sampler.hpp"

namespace sluice::api {

struct completion_request {
    bool chat = true;
    std::string model;                    // as sent; "" when absent
    boost::json::array messages;          // chat: {role, content (string)[, name]}
    std::string prompt;                   // completions: text prompt
    std::vector<engine::token_id> prompt_ids;  // completions: prompt given as token ids
    std::optional<int> max_tokens;        // max_tokens / max_completion_tokens
    engine::sampling_params sampling;
    bool seeded = false;
    std::vector<std::string> stop;
    bool stream = false;
    bool include_usage = false;           // stream_options.include_usage
    int top_logprobs = -1;                // -1: no logprobs; else logprobs with this many alternatives
};

// Throws api_error (400, with `param`) on malformed JSON, wrong types, out-of-range values,
// unknown or unsupported fields.
completion_request parse_chat_request(std::string_view body);
completion_request parse_completion_request(std::string_view body);

}  // namespace sluice::api
