// Deterministic "mixed" text for tokenizer benchmarks: English prose, source code,
// numbers, punctuation runs, accented Latin, CJK, emoji and odd whitespace, drawn
// by a fixed-seed generator so every run measures the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::bench {

inline std::string mixed_text(std::size_t bytes) {
    const std::vector<std::string> words{
        "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Once", "upon", "a", "time",
        "there", "was", "little", "girl", "named", "Lily", "She", "loved", "to", "play", "outside",
        "inference", "server", "tokenizer", "streaming", "it's", "don't", "we'll", "they've",
        "na\xC3\xAFve", "caf\xC3\xA9", "\xC3\x84pfel", "Stra\xC3\x9F" "e", "\xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE",
        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88",
        "\xF0\x9F\x9A\x80", "\xF0\x9F\x94\xA5", "\xE2\x80\x94"};
    const std::vector<std::string> code{
        "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
        "for (int i = 0; i < n; ++i) {\n\tsum += x[i] * w[i];\n}\n",
        "{\"model\": \"sluice\", \"temperature\": 0.7, \"max_tokens\": 128}\n",
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"};
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&]() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    std::string out;
    out.reserve(bytes + 256);
    while (out.size() < bytes) {
        const auto r = next() % 100;
        if (r < 70) {
            out += words[next() % words.size()];
            out += (next() % 12 == 0) ? ", " : " ";
        } else if (r < 78) {
            out += code[next() % code.size()];
        } else if (r < 88) {
            out += std::to_string(next() % 10000000);
            out += (next() % 2) ? ". " : " ";
        } else if (r < 94) {
            out += "\n\n";
        } else {
            out += "   !!! ... ??? ";
        }
    }
    out.resize(bytes);
    // Do not end inside a UTF-8 character.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    return out;
}

}  // namespace sluice::bench
