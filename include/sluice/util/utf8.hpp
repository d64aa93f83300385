// UTF-8 helpers. Decoding never throws: an invalid or truncated sequence yields
// U+FFFD and consumes exactly one byte, so any byte string can be processed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::utf8 {

constexpr char32_t replacement = 0xFFFD;

// Length of the sequence announced by a lead byte (1 for continuation/invalid bytes).
std::size_t sequence_length(unsigned char lead) noexcept;

// Decodes the code point at text[pos]; sets `consumed` to the bytes used (>= 1).
char32_t decode(std::string_view text, std::size_t pos, std::size_t& consumed) noexcept;

std::vector<char32_t> to_code_points(std::string_view text);

void append(std::string& out, char32_t cp);
std::string encode(char32_t cp);

// Length of the longest prefix of `text` that does not end inside a UTF-8 sequence
// (an incomplete trailing sequence is excluded; invalid bytes count as complete).
std::size_t complete_prefix_length(std::string_view text) noexcept;

// True when every byte belongs to a well-formed sequence.
bool is_valid(std::string_view text) noexcept;

// Replaces every invalid byte with U+FFFD.
std::string sanitize(std::string_view text);

}  // namespace sluice::utf8
