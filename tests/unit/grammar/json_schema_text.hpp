// JSON text as Python's json.dumps writes it, for the JSON Schema tests: compact
// (separators (",", ":")) or indent=N, with or without ensure_ascii. Numbers follow Python:
// integers as integers, floats as repr() ("1.0", "1e-05").
#pragma once

#include <boost/json.hpp>

#include <cstdio>
#include <string>

#include "grammar/json_schema_compiler.hpp"

namespace sluice::test {

inline void python_json_string(std::string& out, std::string_view s, bool ascii) {
    out += '"';
    const std::u32string cps = sluice::grammar::json_schema_detail::decode_utf8(s);
    std::size_t byte = 0;
    for (char32_t c : cps) {
        const std::size_t len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        char buf[16];
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || (ascii && c >= 0x7F)) {
                    if (c >= 0x10000) {
                        const char32_t v = c - 0x10000;
                        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                                      static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
                    } else {
                        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                    }
                    out += buf;
                } else {
                    out.append(s.substr(byte, len));
                }
        }
        byte += len;
    }
    out += '"';
}

inline void python_json_into(std::string& out, const boost::json::value& v, int indent, bool ascii, int level) {
    const bool pretty = indent >= 0;
    auto newline = [&](int l) {
        if (pretty) out += "\n" + std::string(static_cast<std::size_t>(indent * l), ' ');
    };
    switch (v.kind()) {
        case boost::json::kind::null: out += "null"; break;
        case boost::json::kind::bool_: out += v.as_bool() ? "true" : "false"; break;
        case boost::json::kind::int64: out += std::to_string(v.as_int64()); break;
        case boost::json::kind::uint64: out += std::to_string(v.as_uint64()); break;
        case boost::json::kind::double_: out += sluice::grammar::json_schema_detail::python_float(v.as_double()); break;
        case boost::json::kind::string: python_json_string(out, v.as_string(), ascii); break;
        case boost::json::kind::array: {
            const auto& a = v.as_array();
            if (a.empty()) {
                out += "[]";
                break;
            }
            out += '[';
            for (std::size_t i = 0; i < a.size(); ++i) {
                if (i != 0) out += ',';
                newline(level + 1);
                python_json_into(out, a[i], indent, ascii, level + 1);
            }
            newline(level);
            out += ']';
            break;
        }
        case boost::json::kind::object: {
            const auto& o = v.as_object();
            if (o.empty()) {
                out += "{}";
                break;
            }
            out += '{';
            bool first = true;
            for (const auto& kv : o) {
                if (!first) out += ',';
                first = false;
                newline(level + 1);
                python_json_string(out, kv.key(), ascii);
                out += pretty ? ": " : ":";
                python_json_into(out, kv.value(), indent, ascii, level + 1);
            }
            newline(level);
            out += '}';
            break;
        }
    }
}

// indent < 0: compact.
inline std::string python_json(const boost::json::value& v, int indent, bool ascii) {
    std::string out;
    python_json_into(out, v, indent, ascii, 0);
    return out;
}

}  // namespace sluice::test
