// Code point ranges -> sequences of byte ranges matching exactly their UTF-8 encodings
// (the classic split by encoded length and continuation-byte boundaries).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace sluice::grammar::detail {

using byte_range = std::pair<std::uint8_t, std::uint8_t>;
using byte_sequence = std::vector<byte_range>;  // 1..4 ranges, one per encoded byte

// Appends to `out` byte sequences whose union matches the UTF-8 encodings of [lo, hi]
// (surrogates must already be excluded).
void utf8_sequences(char32_t lo, char32_t hi, std::vector<byte_sequence>& out);

}  // namespace sluice::grammar::detail
