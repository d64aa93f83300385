// POST /v1/messages (Anthropic Messages API) and /v1/messages/count_tokens bodies, decoded
// into the canonical request every protocol shares (completion_request, chat form): system
// text and text / tool_use / tool_result / thinking blocks become system, user, assistant
// (with tool_calls and reasoning_content) and tool messages; tools (input_schema) and
// tool_choice (auto, any, tool, none) become function tools and a tool choice; thinking
// (enabled / disabled) becomes the template's enable_thinking. Fields Anthropic clients send
// that cannot change a local generation (metadata, service_tier, context_management,
// cache_control, ...) are accepted; unknown ones are collected in ignored_fields.
#pragma once

#include <string_view>

#include "sluice/api/completion_request.hpp"

namespace sluice::api {

// Throws api_error 400 naming the field. `count_only`: the count_tokens body (max_tokens
// is not required there).
completion_request parse_messages_request(std::string_view body, const parse_options& options = {}, bool count_only = false);

}  // namespace sluice::api
