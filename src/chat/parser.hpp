// Template tokens -> syntax tree (chat-internal).
#pragma once

#include <string_view>

#include "ast.hpp"

namespace sluice::chat::detail {

// Throws template_error (with the line) on a syntax error.
ast::body parse_template(std::string_view source);

}  // namespace sluice::chat::detail
