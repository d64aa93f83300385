#include "grammar/utf8_ranges.hpp"

namespace sluice::grammar::detail {

namespace {

int encoded_length(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

void encode(char32_t cp, int n, std::uint8_t* out) {
    if (n == 1) {
        out[0] = static_cast<std::uint8_t>(cp);
        return;
    }
    for (int i = n - 1; i > 0; --i) {
        out[i] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
        cp >>= 6;
    }
    static constexpr std::uint8_t lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    out[0] = static_cast<std::uint8_t>(lead[n] | cp);
}

// [lo, hi] share an encoded length; split until every byte position is an independent range.
void split_same_length(char32_t lo, char32_t hi, int n, std::vector<byte_sequence>& out) {
    for (int i = 1; i < n; ++i) {
        char32_t m = (char32_t{1} << (6 * i)) - 1;  // the low i continuation bytes
        if ((lo & ~m) != (hi & ~m)) {
            if ((lo & m) != 0) {
                split_same_length(lo, lo | m, n, out);
                split_same_length((lo | m) + 1, hi, n, out);
                return;
            }
            if ((hi & m) != m) {
                split_same_length(lo, (hi & ~m) - 1, n, out);
                split_same_length(hi & ~m, hi, n, out);
                return;
            }
        }
    }
    std::uint8_t a[4], b[4];
    encode(lo, n, a);
    encode(hi, n, b);
    byte_sequence seq;
    for (int i = 0; i < n; ++i) seq.emplace_back(a[i], b[i]);
    out.push_back(std::move(seq));
}

}  // namespace

void utf8_sequences(char32_t lo, char32_t hi, std::vector<byte_sequence>& out) {
    static constexpr char32_t bounds[4] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
    for (char32_t b : bounds) {
        if (lo > hi) return;
        if (lo <= b) {
            char32_t end = hi < b ? hi : b;
            split_same_length(lo, end, encoded_length(lo), out);
            lo = end + 1;
        }
    }
}

}  // namespace sluice::grammar::detail
