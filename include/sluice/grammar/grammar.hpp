// A compiled grammar: GBNF text parsed into rules whose right-hand sides are byte-level
// automata (characters are Unicode code points matched as their UTF-8 bytes). A grammar is
// immutable after construction and safe to share between threads and sequences; the
// per-sequence parse state lives in grammar::matcher.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/util/error.hpp"

namespace sluice::grammar {

// A grammar that cannot be compiled (syntax error, undefined rule, missing root, left
// recursion, limits exceeded). code() is errc::invalid_argument; offset() is the byte
// offset into the GBNF text where the problem was found, or npos when it is not tied to one.
class grammar_error : public sluice::error {
public:
    static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
    explicit grammar_error(const std::string& message, std::size_t offset = npos);
    std::size_t offset() const noexcept { return offset_; }

private:
    std::size_t offset_;
};

// Bounds that keep a hostile grammar from exhausting memory or time. parse_gbnf fails with
// grammar_error when a grammar exceeds them.
struct grammar_limits {
    std::size_t max_text_bytes = 4u << 20;      // GBNF source size
    std::size_t max_rules = 20000;              // named + generated rules
    std::size_t max_states = 2'000'000;         // automaton states over all rules
    std::size_t max_nesting = 128;              // ( ) nesting depth in the source
    std::size_t max_repeat = 10000;             // m and n of {m,n}
};

namespace detail {
struct compiled_grammar;  // defined in src/grammar/compiled_grammar.hpp
}

class grammar {
public:
    explicit grammar(std::unique_ptr<const detail::compiled_grammar> impl);
    ~grammar();
    grammar(const grammar&) = delete;
    grammar& operator=(const grammar&) = delete;

    // The grammar printed back as GBNF (normalised: one rule per line, escapes canonical).
    std::string to_gbnf() const;
    std::size_t rule_count() const noexcept;
    std::size_t state_count() const noexcept;

    // For the matcher (src/grammar); not a stable interface.
    const detail::compiled_grammar& impl() const noexcept { return *impl_; }

private:
    std::unique_ptr<const detail::compiled_grammar> impl_;
};

// Parses GBNF (the llama.cpp dialect) with `root` as the start rule.
// Throws grammar_error on any problem.
std::shared_ptr<const grammar> parse_gbnf(std::string_view text, std::string_view root = "root",
                                          const grammar_limits& limits = {});

}  // namespace sluice::grammar
