#include "sluice/api/json_body.hpp"

#include <boost/json/stream_parser.hpp>

#include "sluice/api/api_error.hpp"

namespace sluice::api {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The code unit of a "\uXXXX" escape starting at text[i] ('\\'), or -1 when there is none.
long escape_unit(std::string_view text, std::size_t i) {
    if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
    long v = 0;
    for (std::size_t k = i + 2; k < i + 6; ++k) {
        const int h = hex_value(text[k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

bool is_high(long u) { return u >= 0xD800 && u <= 0xDBFF; }
bool is_low(long u) { return u >= 0xDC00 && u <= 0xDFFF; }

}  // namespace

bool replace_lone_surrogates(std::string_view text, std::string& out) {
    bool copied = false;
    auto replace_at = [&](std::size_t i) {
        if (!copied) {
            out.assign(text);
            copied = true;
        }
        out.replace(i, 6, "\\ufffd");
    };
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (!in_string) {
            in_string = c == '"';
            continue;
        }
        if (c == '"') {
            in_string = false;
        } else if (c == '\\' && i + 1 < text.size()) {
            const long u = escape_unit(text, i);
            if (u < 0) {
                ++i;  // a two-character escape such as \" or \\: skip its second character
                continue;
            }
            if (is_high(u)) {
                if (is_low(escape_unit(text, i + 6))) {
                    i += 11;  // a well-formed pair
                    continue;
                }
                replace_at(i);
            } else if (is_low(u)) {
                replace_at(i);  // a low surrogate whose high half did not come first
            }
            i += 5;
        }
    }
    return copied;
}

boost::json::value parse_json_body(std::string_view body) {
    std::string fixed;
    const std::string_view text = replace_lone_surrogates(body, fixed) ? std::string_view(fixed) : body;
    boost::json::parse_options opt;
    opt.max_depth = k_max_json_depth;
    boost::json::stream_parser p({}, opt);
    boost::json::error_code ec;
    const std::size_t used = p.write(text.data(), text.size(), ec);
    if (!ec) p.finish(ec);
    if (ec) {
        const std::string where = ec == boost::json::error::incomplete ? "the body ends early, at byte " + std::to_string(text.size())
                                                                         : ec.message() + " at byte " + std::to_string(used);
        throw invalid_request("The request body is not valid JSON: " + where);
    }
    return p.release();
}

}  // namespace sluice::api
