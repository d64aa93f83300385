// Splits template source into text and the tokens inside {{ }} / {% %}, applying
// Jinja2's whitespace rules as Hugging Face configures them: trim_blocks,
// lstrip_blocks, `-`/`+` modifiers, comments removed, raw blocks kept verbatim, and
// one trailing newline of the source dropped (keep_trailing_newline=False).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::chat::detail {

struct token {
    enum class kind { text, var_begin, var_end, block_begin, block_end, name, string, integer, floating, op, eof };
    kind k;
    std::string text;
    int line;
};

// Throws template_error with the line on unterminated tags or strings.
std::vector<token> lex(std::string_view source);

}  // namespace sluice::chat::detail
