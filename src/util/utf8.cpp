#include "sluice/util/utf8.hpp"

namespace sluice::utf8 {

std::size_t sequence_length(unsigned char lead) noexcept {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 1;
}

char32_t decode(std::string_view text, std::size_t pos, std::size_t& consumed) noexcept {
    consumed = 1;
    const auto b0 = static_cast<unsigned char>(text[pos]);
    if (b0 < 0x80) return b0;
    const std::size_t len = sequence_length(b0);
    if (len == 1 || pos + len > text.size()) return replacement;
    char32_t cp = b0 & (0xFF >> (len + 1));
    for (std::size_t i = 1; i < len; ++i) {
        const auto b = static_cast<unsigned char>(text[pos + i]);
        if ((b & 0xC0) != 0x80) return replacement;
        cp = (cp << 6) | (b & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    static constexpr char32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return replacement;
    }
    consumed = len;
    return cp;
}

std::vector<char32_t> to_code_points(std::string_view text) {
    std::vector<char32_t> out;
    out.reserve(text.size());
    for (std::size_t pos = 0, n = 0; pos < text.size(); pos += n) out.push_back(decode(text, pos, n));
    return out;
}

void append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string encode(char32_t cp) {
    std::string s;
    append(s, cp);
    return s;
}

std::size_t complete_prefix_length(std::string_view text) noexcept {
    // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
    const std::size_t n = text.size();
    for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
        const auto b = static_cast<unsigned char>(text[n - back]);
        if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
        const std::size_t len = sequence_length(b);
        return len > back ? n - back : n;
    }
    return n;
}

bool is_valid(std::string_view text) noexcept {
    for (std::size_t pos = 0, n = 0; pos < text.size(); pos += n) {
        if (decode(text, pos, n) == replacement && text.compare(pos, 3, "\xEF\xBF\xBD") != 0) {
            return false;
        }
    }
    return true;
}

std::string sanitize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t pos = 0, n = 0; pos < text.size(); pos += n) {
        const char32_t cp = decode(text, pos, n);
        if (cp == replacement) {
            append(out, cp);
        } else {
            out.append(text.substr(pos, n));
        }
    }
    return out;
}

}  // namespace sluice::utf8
