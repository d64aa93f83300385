#include "grammar/utf8_ranges.hpp"

#include <gtest/gtest.h>

#include <random>

#include "sluice/util/utf8.hpp"

namespace {

using namespace sluice::grammar::detail;

bool matched(const std::vector<byte_sequence>& seqs, const std::string& bytes) {
    for (const auto& s : seqs) {
        if (s.size() != bytes.size()) continue;
        bool ok = true;
        for (std::size_t i = 0; i < s.size() && ok; ++i) {
            auto b = static_cast<std::uint8_t>(bytes[i]);
            ok = s[i].first <= b && b <= s[i].second;
        }
        if (ok) return true;
    }
    return false;
}

// Every code point near every boundary, plus random ranges, against the encoder.
TEST(utf8_ranges, sequences_match_exactly_the_encodings) {
    std::mt19937 rng(7);
    std::vector<std::pair<char32_t, char32_t>> ranges{{0, 0x7F}, {0x41, 0x5A}, {0x80, 0x7FF}, {0x7F, 0x800},
                                                      {0xE000, 0x10FFFF}, {0x10000, 0x10FFFF}, {0x3B1, 0x3C9}};
    for (int i = 0; i < 200; ++i) {
        char32_t a = rng() % 0x110000, b = rng() % 0x110000;
        if (a > b) std::swap(a, b);
        if (a >= 0xD800 && a <= 0xDFFF) continue;
        if (b >= 0xD800 && b <= 0xDFFF) continue;
        if (a < 0xD800 && b > 0xDFFF) continue;
        ranges.emplace_back(a, b);
    }
    for (auto [lo, hi] : ranges) {
        std::vector<byte_sequence> seqs;
        utf8_sequences(lo, hi, seqs);
        for (int k = 0; k < 300; ++k) {
            char32_t cp = rng() % 0x110000;
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            EXPECT_EQ(matched(seqs, sluice::utf8::encode(cp)), lo <= cp && cp <= hi)
                << std::hex << static_cast<std::uint32_t>(cp) << " in " << static_cast<std::uint32_t>(lo) << ".."
                << static_cast<std::uint32_t>(hi);
        }
        for (char32_t cp : {lo, hi}) EXPECT_TRUE(matched(seqs, sluice::utf8::encode(cp)));
        if (lo > 0 && lo - 1 != 0xDFFF) {
            EXPECT_FALSE(matched(seqs, sluice::utf8::encode(lo - 1)));
        }
        if (hi < 0x10FFFF && hi + 1 != 0xD800) {
            EXPECT_FALSE(matched(seqs, sluice::utf8::encode(hi + 1)));
        }
    }
}

}  // namespace
