// Regular expressions over Unicode code points for the JSON Schema compiler: the ECMA-262
// subset JSON Schema `pattern` uses, parsed to an NFA and determinised, with the product,
// complement and literal-set automata that `patternProperties` and length limits need.
// Everything here counts code points of the *decoded* string; json_schema_rules.cpp turns a
// DFA into GBNF over the JSON-escaped form.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::grammar::json_schema_detail {

constexpr char32_t k_max_code_point = 0x10FFFF;

// A pattern sluice cannot compile (syntax, unsupported construct, too large). what() says
// which; the schema compiler turns it into a schema_error at the `pattern` keyword.
class regex_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct code_range {
    char32_t lo;  // inclusive
    char32_t hi;  // inclusive
};

// A set of code points as sorted, disjoint, non-adjacent ranges. The universe is the
// Unicode scalar values (surrogates D800-DFFF excluded: they cannot appear in UTF-8).
class code_set {
public:
    code_set() = default;
    code_set(char32_t lo, char32_t hi) { add(lo, hi); }
    static code_set any();

    void add(char32_t lo, char32_t hi);
    void add(const code_set& other);
    code_set negated() const;
    code_set intersected(const code_set& other) const;
    bool contains(char32_t c) const;
    bool empty() const noexcept { return ranges_.empty(); }
    const std::vector<code_range>& ranges() const noexcept { return ranges_; }
    bool operator==(const code_set& other) const;

private:
    std::vector<code_range> ranges_;
};

// A deterministic automaton. State 0 is the start; `next` lists disjoint sets.
struct dfa_state {
    std::vector<std::pair<code_set, int>> next;
    bool accept = false;
};

struct dfa {
    std::vector<dfa_state> states;
    bool matches(std::u32string_view text) const;
    // No string is accepted.
    bool empty() const;
};

// Compiles a JSON Schema pattern (ECMA-262 syntax, unanchored: "a" matches "xay") to a DFA.
// Refuses backreferences, lookaround, \b and inline flags. Throws regex_error; the result
// has at most max_states states.
dfa compile_pattern(std::string_view pattern, std::size_t max_states);

// Accepts exactly the strings in `words`.
dfa literal_dfa(const std::vector<std::u32string>& words);
// Accepts strings of min_len..max_len code points (max_len < 0: unbounded).
dfa length_dfa(std::size_t min_len, long long max_len);
// Accepts exactly what both accept.
dfa intersect(const dfa& a, const dfa& b, std::size_t max_states);
// Accepts exactly what `a` rejects.
dfa complement(const dfa& a);
// Accepts what either accepts.
dfa unite(const dfa& a, const dfa& b, std::size_t max_states);
// Drops states that cannot reach an accepting one and merges equivalent states.
dfa trim(const dfa& a);

// UTF-8 -> code points; invalid bytes become U+FFFD.
std::u32string decode_utf8(std::string_view s);

}  // namespace sluice::grammar::json_schema_detail
