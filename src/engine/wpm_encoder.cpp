// WordPiece (BERT): normalise (NFD + accent stripping and lowercasing when the
// vocabulary asks for it, control characters dropped), split on whitespace and
// around punctuation and CJK ideographs, then greedy longest-match each word
// prefixed with U+2581 (how GGUF stores word-initial pieces); a word with no full
// match becomes UNK.
#include <algorithm>
#include <string>

#include "encoders.hpp"
#include "sluice/util/utf8.hpp"
#include "unicode_props.hpp"

namespace sluice::engine::detail {
namespace {

bool is_cjk(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::vector<std::string> split_words(const vocab& v, std::string_view text) {
    std::vector<char32_t> cps;
    for (char32_t cp : utf8::to_code_points(text)) {
        if (v.flags().strip_accents) {
            append_nfd(cp, cps);
        } else {
            cps.push_back(cp);
        }
    }
    std::vector<std::string> words(1);
    for (char32_t cp : cps) {
        if (is_whitespace(cp)) {
            if (!words.back().empty()) words.emplace_back();
            continue;
        }
        if (cp == 0 || cp == utf8::replacement || is_control(cp)) continue;
        if (v.flags().strip_accents && is_mark(cp)) continue;
        const char32_t c = v.flags().lowercase ? to_lower(cp) : cp;
        if (is_punctuation(cp) || (cp < 0x7F && is_symbol(cp)) || is_cjk(cp)) {
            if (!words.back().empty()) words.emplace_back();
            utf8::append(words.back(), c);
            words.emplace_back();
        } else {
            utf8::append(words.back(), c);
        }
    }
    if (words.back().empty()) words.pop_back();
    return words;
}

}  // namespace

void wpm_encode(const vocab& v, std::string_view text, std::vector<token_id>& out) {
    const std::size_t max_len = v.max_token_length();
    for (const auto& word : split_words(v, text)) {
        const std::string w = "\xE2\x96\x81" + word;
        const std::size_t start_size = out.size();
        for (std::size_t i = 0; i < w.size();) {
            bool matched = false;
            for (std::size_t j = std::min(w.size(), i + max_len + 1); j > i; --j) {
                const token_id id = v.find(std::string_view(w).substr(i, j - i));
                if (id != no_token) {
                    out.push_back(id);
                    i = j;
                    matched = true;
                    break;
                }
            }
            if (!matched) {
                out.resize(start_size);
                break;
            }
        }
        if (out.size() == start_size && v.special().unk != no_token) out.push_back(v.special().unk);
    }
}

}  // namespace sluice::engine::detail
