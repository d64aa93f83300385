// POST /v1/responses (OpenAI Responses API) bodies. The body decodes into the canonical
// request (completion_request, chat form) plus what the Responses protocol itself keeps:
// the input items (to store, and to continue from with previous_response_id), store,
// previous_response_id, instructions, metadata and the request fields a Response object
// echoes back. Items become canonical messages only once the previous response's history is
// known (items_to_messages), because a continuation prepends it.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "sluice/api/completion_request.hpp"

namespace sluice::api {

struct responses_request {
    completion_request canonical;      // messages are filled by items_to_messages
    boost::json::array input;          // this request's input items, normalised (type set on each)
    std::string instructions;          // a system message for this turn only (not carried over)
    std::string previous_response_id;  // "" when absent
    bool store = true;
    boost::json::object metadata;
    boost::json::object echo;          // tools, tool_choice, text, reasoning, ... as the Response object shows them
};

// Throws api_error 400 naming the field. Tools of types other than "function" (web_search,
// file_search, custom, ...) cannot run locally: they are dropped and named in
// canonical.ignored_fields ("tools[2] (web_search)"), so clients that always send them work.
responses_request parse_responses_request(std::string_view body, const parse_options& options = {});

// `history` (items of earlier turns) then `input` as canonical chat messages, with
// `instructions` as a leading system message: message items by role, function_call items as
// assistant tool_calls, function_call_output items as tool messages, reasoning items as the
// next assistant message's reasoning_content. Throws api_error 400 naming the item.
boost::json::array items_to_messages(const boost::json::array& history, const boost::json::array& input, const std::string& instructions);

}  // namespace sluice::api
