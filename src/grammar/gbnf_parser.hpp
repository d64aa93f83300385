// GBNF text -> ast_grammar (the llama.cpp dialect; see docs/structured-output.md).
#pragma once

#include <string_view>

#include "grammar/gbnf_ast.hpp"
#include "sluice/grammar/grammar.hpp"

namespace sluice::grammar::detail {

// Throws grammar_error naming the byte offset (and rule) of the first problem: syntax,
// undefined or duplicate rules, missing root, empty grammar, limits exceeded.
ast_grammar parse_gbnf_ast(std::string_view text, std::string_view root, const grammar_limits& limits);

}  // namespace sluice::grammar::detail
