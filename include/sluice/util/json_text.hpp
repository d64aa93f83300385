// JSON string literals written by hand (log lines, tool-call arguments streamed piece by
// piece), where building a boost::json value first would cost a copy. Bytes >= 0x80 pass
// through as they are (UTF-8, or whatever the caller holds: callers that need valid UTF-8
// sanitise first, see util/utf8.hpp); '"', '\\' and every control character are escaped,
// so the output is always one well-formed JSON string with no raw newline in it.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

// Appends `s` escaped for the inside of a JSON string (no quotes added).
void json_escape_to(std::string_view s, std::string& out);
// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

}  // namespace sluice
