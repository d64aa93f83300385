// POST /v1/chat/completions and /v1/completions bodies, parsed and validated into a
// typed request. Every numeric field is bounded (docs/api.md lists the ranges). What
// happens to each field is api/field_policy.hpp's table: honoured, ignored (cannot change
// the output), or refused with 400 naming the field when sluice cannot honour it (image
// parts, n > 1, ...) -- never silently dropped. Fields the table
// does not know are collected in `ignored_fields` (or refused with parse_options::strict_fields).
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/api/constraint.hpp"
#include "sluice/engine/sampler.hpp"
#include "sluice/tools/tool_grammar.hpp"

namespace sluice::api {

struct parse_options {
    bool strict_fields = false;  // unknown fields get 400 instead of being ignored
};

struct completion_request {
    bool chat = true;
    std::string model;                    // as sent; "" when absent
    // chat: {role, content (string)[, name][, reasoning_content][, tool_calls][, tool_call_id]};
    // roles system, user, assistant, tool (legacy "function" messages become "tool").
    boost::json::array messages;
    std::string prompt;                   // completions: text prompt
    std::vector<engine::token_id> prompt_ids;  // completions: prompt given as token ids
    std::optional<int> max_tokens;        // max_tokens / max_completion_tokens
    engine::sampling_params sampling;
    bool seeded = false;
    std::vector<std::string> stop;
    bool stream = false;
    bool include_usage = false;           // stream_options.include_usage
    int top_logprobs = -1;                // -1: no logprobs; else logprobs with this many alternatives
    int n = 1;                            // choices to generate (1..128); they share the prompt's KV
    bool echo = false;                    // completions: the prompt is returned before the completion
    bool ignore_eos = false;
    constraint_spec constraint;           // response_format JSON modes, json_schema or grammar
    boost::json::object template_kwargs;  // chat_template_kwargs: extra template variables
    // Tool calling (docs/tools.md). tool_choice defaults to "auto" with tools, "none" without.
    std::vector<tools::tool_def> tools;
    tools::tool_choice tool_choice{tools::choice_mode::none, {}};
    bool parallel_tool_calls = true;
    bool legacy_functions = false;        // tools came as `functions`: answer with message.function_call (one call)
    bool parse_reasoning = true;          // reasoning_format other than "none"
    std::string reasoning_effort;         // passed to templates that read it
    std::vector<std::string> ignored_fields;  // unknown fields, as paths ("messages[2].foo")
};

// Throws api_error (400, with `param`) on malformed JSON, wrong types, out-of-range values,
// unknown or unsupported fields.
completion_request parse_chat_request(std::string_view body, const parse_options& options = {});
completion_request parse_completion_request(std::string_view body, const parse_options& options = {});

}  // namespace sluice::api
