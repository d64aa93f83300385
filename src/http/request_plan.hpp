// The protocol-neutral half of every adapter: a decoded request (api::completion_request,
// the canonical request every protocol decodes into) becomes a generation plan. For chat:
// template variables and rendering (chat_prompt.hpp), tokenizing, the context check, the
// request's grammar (response format, or the tool-call grammar of tool_choice) and the
// output parser that splits content, reasoning and tool calls. Throws api_error (400) for
// what cannot be served, before anything is written.
#pragma once

#include <string>
#include <vector>

#include "connection.hpp"
#include "generation_pipeline.hpp"
#include "sluice/api/completion_request.hpp"

namespace sluice::http::detail {

// Fills in a random seed when the request has none.
generation_plan plan_generation(server_state& st, api::completion_request& r);

// The prompt's length in tokens, as plan_generation would tokenize it (count_tokens).
std::size_t count_prompt_tokens(server_state& st, const api::completion_request& r);

// Names unknown request fields in the log and in the x-sluice-ignored-fields header.
void report_ignored(exchange& ex, const std::vector<std::string>& fields);

}  // namespace sluice::http::detail
