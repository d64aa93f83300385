#include "sluice/util/json_text.hpp"

namespace sluice {

void json_escape_to(std::string_view s, std::string& out) {
    static constexpr char hex[] = "0123456789abcdef";
    for (const char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (u < 0x20 || u == 0x7f) {  // DEL is legal raw JSON, but not in a log line
                out += "\\u00";
                out.push_back(hex[u >> 4]);
                out.push_back(hex[u & 15]);
            } else {
                out.push_back(ch);
            }
        }
    }
}

std::string json_quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back('"');
    json_escape_to(s, out);
    out.push_back('"');
    return out;
}

}  // namespace sluice
