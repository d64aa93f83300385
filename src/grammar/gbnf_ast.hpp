// The parsed form of a GBNF grammar, before it is compiled into byte automata. Characters are
// Unicode code points; classes are sorted, disjoint, inclusive ranges (negation resolved).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace sluice::grammar::detail {

constexpr char32_t k_max_code_point = 0x10FFFF;
constexpr std::uint32_t k_unbounded = std::numeric_limits<std::uint32_t>::max();

using code_point_ranges = std::vector<std::pair<char32_t, char32_t>>;

struct ast_node {
    enum class kind : std::uint8_t { sequence, alternatives, char_class, rule_ref, repeat };
    kind k = kind::sequence;
    std::vector<ast_node> children;   // sequence/alternatives: items; repeat: exactly one
    code_point_ranges ranges;         // char_class
    bool negated = false;             // char_class: printed as [^...] (ranges already resolved)
    bool any_char = false;            // char_class written as '.'
    bool literal = false;             // char_class from a string literal (one code point)
    std::uint32_t rule = 0;           // rule_ref: index into ast_grammar::rules
    std::uint32_t min = 0, max = 0;   // repeat bounds, max may be k_unbounded
    std::size_t offset = 0;           // byte offset in the source, for errors
};

struct ast_rule {
    std::string name;
    ast_node body;                    // alternatives
    std::size_t offset = 0;           // where it was defined (or first referenced)
    bool defined = false;
};

struct ast_grammar {
    std::vector<ast_rule> rules;
    std::uint32_t root = 0;
};

// Sorts and merges ranges, removes UTF-16 surrogates (they have no UTF-8 encoding).
code_point_ranges normalise_ranges(code_point_ranges r);
code_point_ranges complement_ranges(const code_point_ranges& r);

}  // namespace sluice::grammar::detail
