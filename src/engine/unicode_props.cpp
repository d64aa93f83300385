#include "unicode_props.hpp"

#include <utf8proc.h>

#include <array>
#include <unordered_map>

#include "sluice/util/utf8.hpp"

namespace sluice::engine::detail {
namespace {

utf8proc_category_t category(char32_t cp) noexcept {
    return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

struct byte_maps {
    std::array<std::string, 256> to_unicode;
    std::unordered_map<char32_t, int> to_byte;
    byte_maps() {
        // Printable Latin-1 bytes stand for themselves; the rest map to U+0100 upwards.
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
            to_unicode[static_cast<std::size_t>(b)] = utf8::encode(cp);
            to_byte[cp] = b;
        }
    }
};

const byte_maps& maps() {
    static const byte_maps m;
    return m;
}

}  // namespace

bool is_whitespace(char32_t cp) noexcept {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

bool is_control(char32_t cp) noexcept {
    switch (category(cp)) {
        case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF:
        case UTF8PROC_CATEGORY_CS:
        case UTF8PROC_CATEGORY_CO:
        case UTF8PROC_CATEGORY_CN: return true;
        default: return false;
    }
}

bool is_mark(char32_t cp) noexcept {
    const auto c = category(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

bool is_punctuation(char32_t cp) noexcept {
    const auto c = category(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool is_symbol(char32_t cp) noexcept {
    const auto c = category(cp);
    return c >= UTF8PROC_CATEGORY_SM && c <= UTF8PROC_CATEGORY_SO;
}

char32_t to_lower(char32_t cp) noexcept {
    return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

void append_nfd(char32_t cp, std::vector<char32_t>& out) {
    std::array<utf8proc_int32_t, 16> buf{};
    int boundclass = 0;
    const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf.data(), buf.size(),
                                           UTF8PROC_DECOMPOSE, &boundclass);
    if (n <= 0 || static_cast<std::size_t>(n) > buf.size()) {
        out.push_back(cp);
        return;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) out.push_back(static_cast<char32_t>(buf[static_cast<std::size_t>(i)]));
}

const std::string& byte_to_unicode(unsigned char byte) noexcept { return maps().to_unicode[byte]; }

int unicode_to_byte(char32_t cp) noexcept {
    const auto& m = maps().to_byte;
    const auto it = m.find(cp);
    return it == m.end() ? -1 : it->second;
}

}  // namespace sluice::engine::detail
