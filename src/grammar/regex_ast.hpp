// The parsed form of a JSON Schema pattern (private to regex_*.cpp).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "grammar/regex_automaton.hpp"

namespace sluice::grammar::json_schema_detail {

struct regex_node {
    enum class kind { chars, concat, alt, repeat, line_start, line_end, empty };
    kind k = kind::empty;
    code_set set;                                     // chars
    std::vector<std::unique_ptr<regex_node>> items;   // concat, alt; repeat: one child
    int min = 0;                                      // repeat
    int max = -1;                                     // repeat; -1 unbounded
};

// Parses ECMA-262 pattern syntax (the subset in docs/structured-output.md). Throws regex_error.
std::unique_ptr<regex_node> parse_regex(std::string_view pattern);

}  // namespace sluice::grammar::json_schema_detail
