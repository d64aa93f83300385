// Unicode properties the tokenizers need (backed by utf8proc). Engine-internal.
#pragma once

#include <string>
#include <vector>

namespace sluice::engine::detail {

bool is_whitespace(char32_t cp) noexcept;  // Unicode White_Space
bool is_control(char32_t cp) noexcept;     // general category C*
bool is_mark(char32_t cp) noexcept;        // general category M*
bool is_punctuation(char32_t cp) noexcept; // general category P*
bool is_symbol(char32_t cp) noexcept;      // general category S*
char32_t to_lower(char32_t cp) noexcept;   // simple lowercase mapping
// Canonical decomposition of one code point, appended to `out`.
void append_nfd(char32_t cp, std::vector<char32_t>& out);

// GPT-2 byte-level mapping: every byte has a printable code point stand-in.
const std::string& byte_to_unicode(unsigned char byte) noexcept;
// Inverse: the byte a stand-in code point encodes, or -1.
int unicode_to_byte(char32_t cp) noexcept;

}  // namespace sluice::engine::detail
