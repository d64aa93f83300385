// Server-sent events framing for streamed completions: one `data: <json>\n\n` frame per
// event, and the final `data: [DONE]\n\n`.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace sluice::api {

std::string sse_frame(const boost::json::value& event);
// A named event: `event: <name>\ndata: <json>\n\n` (Anthropic's stream grammar).
std::string sse_event(std::string_view name, const boost::json::value& data);
inline constexpr const char* sse_done = "data: [DONE]\n\n";

}  // namespace sluice::api
