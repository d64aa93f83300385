// ast_grammar -> GBNF text that parse_gbnf reads back to the same language.
#pragma once

#include <string>

#include "grammar/gbnf_ast.hpp"

namespace sluice::grammar::detail {

std::string print_gbnf(const ast_grammar& g);

}  // namespace sluice::grammar::detail
