// The tool-calling fields of a chat request: `tools`, `tool_choice`, the legacy `functions` /
// `function_call`, and assistant messages' `tool_calls`. Each reader throws api_error 400
// naming the field; see docs/tools.md for what is accepted.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "sluice/tools/tool_grammar.hpp"

namespace sluice::api::detail {

// `tools` (legacy = false: [{"type":"function","function":{name, description, parameters,
// strict}}]) or `functions` (legacy = true: [{name, description, parameters}]). Names follow
// OpenAI's rule: 1-64 of a-z A-Z 0-9 _ - (and '.'), unique.
std::vector<tools::tool_def> parse_tools(const boost::json::value& v, bool legacy);

// `tool_choice` ("none" | "auto" | "required" | {"type":"function","function":{"name"}}), or
// legacy `function_call` ("none" | "auto" | {"name"}).
tools::tool_choice parse_tool_choice(const boost::json::value& v, bool legacy);

// An assistant message's `tool_calls` ([{id, type:"function", function:{name, arguments}}]),
// normalised: arguments kept as the JSON text they came as (templates that want an object
// get one at render time), a missing id filled in.
boost::json::array parse_tool_calls(const boost::json::value& v, const std::string& field);

}  // namespace sluice::api::detail
