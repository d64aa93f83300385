// The GBNF text the JSON Schema compiler writes: named rules (deduplicated by body), GBNF
// literal and character-class spelling, and DFAs written as right-linear rules.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/regex_automaton.hpp"

namespace sluice::grammar::json_schema_detail {

// Where a DFA's characters live: inside a JSON string (written JSON-escaped, the accepting
// states close the string with '"'), or raw (digits of a number; accepting states may end).
enum class dfa_context { json_string, raw };

class rule_set {
public:
    // Every name starts with `prefix` (schema_options::rule_prefix); the start rule is prefix + "root".
    rule_set(std::size_t max_bytes, std::string prefix) : max_bytes_(max_bytes), prefix_(std::move(prefix)) {}

    // A rule with this body; an existing rule with the same body is reused.
    std::string add(std::string_view hint, const std::string& body);
    // A fresh name to define later (for recursion).
    std::string reserve(std::string_view hint);
    void define(const std::string& name, const std::string& body);
    // Forgets a reserved name that was never defined (nothing may refer to it).
    void discard(const std::string& name);
    bool defined(const std::string& name) const { return bodies_.count(name) != 0; }

    // Rules that cannot derive any finite text (json_schema_productivity.cpp).
    std::vector<std::string> unproductive() const;

    // `root ::= ...` first, then every rule in creation order.
    std::string text() const;

    // A DFA as rules; returns the rule matching a whole JSON string (quotes included) or raw
    // text. The DFA must accept something (see dfa::empty).
    std::string add_dfa(std::string_view hint, const dfa& a, dfa_context ctx);

private:
    std::string unique_name(std::string_view hint);

    std::size_t max_bytes_;
    std::string prefix_;
    std::size_t bytes_ = 0;
    std::map<std::string, std::string> bodies_;      // name -> body
    std::map<std::string, std::string> by_body_;     // body -> name
    std::map<std::string, int> hint_counts_;
    std::vector<std::string> order_;
    std::set<std::string> undefined_;
};

// "..." with GBNF escapes for arbitrary UTF-8 bytes.
std::string gbnf_literal(std::string_view bytes);
// [...] for a non-empty code point set.
std::string gbnf_class(const code_set& s);
// One JSON-encoded character out of `s` (raw where JSON allows it, else its escapes).
// Empty when `s` is empty.
std::string json_char_fragment(const code_set& s);
// A JSON string literal equal to `text` (UTF-8), accepting its escaped spellings.
std::string json_string_literal(std::string_view text);

}  // namespace sluice::grammar::json_schema_detail
