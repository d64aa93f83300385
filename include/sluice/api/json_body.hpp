// Request bodies as JSON. The parser is Boost.JSON's, with two things clients need:
// lone UTF-16 surrogate escapes ("\ud800", which JavaScript's JSON.stringify writes for a
// string cut inside an emoji) are read as U+FFFD instead of failing, and a syntax error
// names the byte offset where it was found.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace sluice::api {

// Nesting deeper than this is refused (JSON Schemas in tools and response formats nest;
// hostile bodies must not).
constexpr std::size_t k_max_json_depth = 128;

// Throws api_error 400 ("The request body is not valid JSON: <reason> at byte N").
boost::json::value parse_json_body(std::string_view body);

// `text` with every escape of a lone surrogate (a high surrogate not followed by a low
// one, or a low surrogate without a high one before it) inside a JSON string replaced by
// the escape of U+FFFD. Same length as the input, so byte offsets stay true. Returns the
// input unchanged (no copy) when there is nothing to replace: check with the bool.
bool replace_lone_surrogates(std::string_view text, std::string& out);

}  // namespace sluice::api
