// Server-sent events framing for streamed completions: one `data: <json>\n\n` frame per
// event, and the final `data: [DONE]\n\n`.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace sluice::api {

std::string sse_frame(const boost::json::value& event);
inline constexpr const char* sse_done = "data: [DONE]\n\n";

}  // namespace sluice::api
