// GBNF spelling for the JSON Schema compiler (see json_schema_rules.hpp).
#include "grammar/json_schema_rules.hpp"

#include <algorithm>

#include "sluice/grammar/json_schema.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

std::string hex(unsigned value, int digits) {
    static const char* k_digits = "0123456789ABCDEF";
    std::string out(static_cast<std::size_t>(digits), '0');
    for (int i = digits - 1; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = k_digits[value & 0xF];
        value >>= 4;
    }
    return out;
}

std::string class_char(char32_t c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return std::string(1, static_cast<char>(c));
    }
    if (c < 0x80) return "\\x" + hex(c, 2);
    if (c <= 0xFFFF) return "\\u" + hex(c, 4);
    return "\\U" + hex(c, 8);
}

// A hex digit matched case-insensitively, as JSON \u escapes allow.
std::string hex_digit_fragment(unsigned v) {
    if (v < 10) return std::string("\"") + static_cast<char>('0' + v) + "\"";
    const char lower = static_cast<char>('a' + v - 10);
    const char upper = static_cast<char>('A' + v - 10);
    return std::string("[") + lower + upper + "]";
}

const char* short_escape(char32_t c) {
    switch (c) {
        case '\b': return "\"\\\\b\"";
        case '\t': return "\"\\\\t\"";
        case '\n': return "\"\\\\n\"";
        case '\f': return "\"\\\\f\"";
        case '\r': return "\"\\\\r\"";
        default: return nullptr;
    }
}

std::string join_alternatives(const std::vector<std::string>& alts) {
    if (alts.size() == 1) return alts.front();
    std::string out = "(";
    for (std::size_t i = 0; i < alts.size(); ++i) {
        if (i != 0) out += " | ";
        out += alts[i];
    }
    return out + ")";
}

// Hex digits a..b (0..15) in either case, as one class.
std::string hex_digit_class(unsigned a, unsigned b) {
    if (a == b) return hex_digit_fragment(a);
    std::string out = "[";
    if (a <= 9) out += std::string(1, static_cast<char>('0' + a)) + (std::min(b, 9u) > a ? "-" + std::string(1, static_cast<char>('0' + std::min(b, 9u))) : "");
    if (b >= 10) {
        const unsigned lo = std::max(a, 10u) - 10;
        const unsigned hi = b - 10;
        for (char base : {'a', 'A'}) {
            out += static_cast<char>(base + lo);
            if (hi > lo) out += "-" + std::string(1, static_cast<char>(base + hi));
        }
    }
    return out + "]";
}

// `width` hex digits (either case) whose value is in [lo, hi]: the digit-wise range split.
std::string hex_range(unsigned lo, unsigned hi, int width) {
    if (width == 0) return {};
    const unsigned base = 1u << (4 * (width - 1));
    const unsigned dlo = lo / base;
    const unsigned dhi = hi / base;
    const std::string rest_any = width > 1 ? " [0-9a-fA-F]{" + std::to_string(width - 1) + "}" : "";
    auto tail = [&](unsigned a, unsigned b) {
        const std::string t = hex_range(a, b, width - 1);
        return t.empty() ? std::string() : " " + t;
    };
    if (dlo == dhi) return hex_digit_fragment(dlo) + tail(lo % base, hi % base);
    std::vector<std::string> parts;
    unsigned mid_lo = dlo;
    unsigned mid_hi = dhi;
    if (lo % base != 0) {
        parts.push_back(hex_digit_fragment(dlo) + tail(lo % base, base - 1));
        ++mid_lo;
    }
    const bool last_partial = hi % base != base - 1;
    if (last_partial) --mid_hi;
    if (mid_lo <= mid_hi) parts.push_back(hex_digit_class(mid_lo, mid_hi) + rest_any);
    if (last_partial) parts.push_back(hex_digit_fragment(dhi) + tail(0, hi % base));
    return join_alternatives(parts);
}

// The \uXXXX spellings of the non-ASCII code points of `s` (what json.dumps writes with
// ensure_ascii): BMP ranges by digit-wise split, single astral code points as surrogate pairs.
void unicode_escapes(const code_set& s, std::vector<std::string>& alts) {
    const code_set bmp = s.intersected(code_set(0x80, 0xFFFF));
    for (const code_range& r : bmp.ranges()) alts.push_back("\"\\\\u\" " + hex_range(r.lo, r.hi, 4));
    const code_set astral = s.intersected(code_set(0x10000, k_max_code_point));
    if (astral.ranges().size() == 1 && astral.ranges()[0].lo == astral.ranges()[0].hi) {
        const char32_t v = astral.ranges()[0].lo - 0x10000;
        const unsigned high = 0xD800 + static_cast<unsigned>(v >> 10);
        const unsigned low = 0xDC00 + static_cast<unsigned>(v & 0x3FF);
        alts.push_back("\"\\\\u\" " + hex_range(high, high, 4) + " \"\\\\u\" " + hex_range(low, low, 4));
    }
}

}  // namespace

std::string gbnf_literal(std::string_view bytes) {
    std::string out = "\"";
    for (char ch : bytes) {
        const auto b = static_cast<unsigned char>(ch);
        if (ch == '"') {
            out += "\\\"";
        } else if (ch == '\\') {
            out += "\\\\";
        } else if (ch == '\n') {
            out += "\\n";
        } else if (ch == '\r') {
            out += "\\r";
        } else if (ch == '\t') {
            out += "\\t";
        } else if (b < 0x20 || b == 0x7F) {
            out += "\\x" + hex(b, 2);
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::string gbnf_class(const code_set& s) {
    std::string out = "[";
    for (const code_range& r : s.ranges()) {
        out += class_char(r.lo);
        if (r.hi > r.lo) out += "-" + class_char(r.hi);
    }
    return out + "]";
}

std::string json_char_fragment(const code_set& s) {
    std::vector<std::string> alts;
    code_set plain_universe(0x20, k_max_code_point);
    code_set quote_backslash('"', '"');
    quote_backslash.add('\\', '\\');
    const code_set plain = s.intersected(plain_universe.intersected(quote_backslash.negated()));
    if (!plain.empty()) {
        const auto& r = plain.ranges();
        if (r.size() == 1 && r[0].lo == r[0].hi && r[0].lo < 0x80) {
            alts.push_back(gbnf_literal(std::string(1, static_cast<char>(r[0].lo))));
        } else {
            alts.push_back(gbnf_class(plain));
        }
    }
    unicode_escapes(s, alts);
    if (s.contains('/')) alts.push_back("\"\\\\/\"");
    if (s.contains('"')) alts.push_back("\"\\\\\\\"\"");
    if (s.contains('\\')) alts.push_back("\"\\\\\\\\\"");
    const code_set controls = s.intersected(code_set(0, 0x1F));
    if (controls == code_set(0, 0x1F)) {
        alts.push_back("\"\\\\\" [bfnrt]");
        alts.push_back("\"\\\\u00\" [01] [0-9a-fA-F]");
    } else {
        for (const code_range& r : controls.ranges()) {
            for (char32_t c = r.lo; c <= r.hi; ++c) {
                if (const char* e = short_escape(c)) alts.emplace_back(e);
                alts.push_back("\"\\\\u00" + std::to_string(c >> 4) + "\" " + hex_digit_fragment(c & 0xF));
            }
        }
    }
    if (alts.empty()) return {};
    return join_alternatives(alts);
}

std::string json_string_literal(std::string_view text) {
    std::string out = "\"\\\"";
    bool in_literal = true;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto b = static_cast<unsigned char>(text[i]);
        const bool special = b < 0x20 || b == '"' || b == '\\' || b == '/' || b >= 0x80;
        const std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
        if (b >= 0x80) {
            // Non-ASCII: raw UTF-8 or its \u escape (json.dumps' ensure_ascii).
            const std::u32string cp = decode_utf8(text.substr(i, len));
            if (in_literal) out += "\"";
            in_literal = false;
            out += " " + (cp.size() == 1 ? json_char_fragment(code_set(cp[0], cp[0])) : gbnf_literal(text.substr(i, len)));
            i += len;
            continue;
        }
        if (!special) {
            if (!in_literal) {
                out += " \"";
                in_literal = true;
            }
            for (std::size_t k = 0; k < len && i < text.size(); ++k) out += text[i++];
            continue;
        }
        if (in_literal) out += "\"";
        in_literal = false;
        out += " " + json_char_fragment(code_set(b, b));
        i += len;
    }
    if (!in_literal) out += " \"";
    return out + "\\\"\"";
}

std::string rule_set::unique_name(std::string_view hint) {
    std::string base;
    for (char c : hint) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (ok) {
            base += c;
        } else if (!base.empty() && base.back() != '-') {
            base += '-';
        }
        if (base.size() >= 40) break;
    }
    while (!base.empty() && base.back() == '-') base.pop_back();
    if (base.empty()) base = "r";
    int& n = hint_counts_[base];
    std::string name = prefix_ + (n == 0 ? base : base + "-" + std::to_string(n));
    ++n;
    while (bodies_.count(name) != 0 || (name == prefix_ + "root" && base != "root")) {
        name = prefix_ + base + "-" + std::to_string(n++);
    }
    return name;
}

std::string rule_set::reserve(std::string_view hint) {
    std::string name = unique_name(hint);
    bodies_[name];  // placeholder until define()
    undefined_.insert(name);
    order_.push_back(name);
    return name;
}

void rule_set::define(const std::string& name, const std::string& body) {
    bytes_ += name.size() + body.size() + 6;
    if (bytes_ > max_bytes_) {
        throw schema_error("", "", "the compiled grammar exceeds " + std::to_string(max_bytes_) + " bytes");
    }
    bodies_[name] = body;
    undefined_.erase(name);
    by_body_.emplace(body, name);
}

void rule_set::discard(const std::string& name) {
    bodies_.erase(name);
    undefined_.erase(name);
    order_.erase(std::remove(order_.begin(), order_.end(), name), order_.end());
}

std::string rule_set::add(std::string_view hint, const std::string& body) {
    if (auto it = by_body_.find(body); it != by_body_.end()) return it->second;
    const std::string name = reserve(hint);
    define(name, body);
    return name;
}

std::string rule_set::text() const {
    if (!undefined_.empty()) throw schema_error("", "", "internal: rule " + *undefined_.begin() + " never defined");
    std::string out;
    const std::string root = prefix_ + "root";
    if (auto it = bodies_.find(root); it != bodies_.end()) out += root + " ::= " + it->second + "\n";
    for (const std::string& name : order_) {
        if (name == root) continue;
        out += name + " ::= " + bodies_.at(name) + "\n";
    }
    return out;
}

std::string rule_set::add_dfa(std::string_view hint, const dfa& a, dfa_context ctx) {
    std::vector<std::string> names;
    names.reserve(a.states.size());
    for (std::size_t i = 0; i < a.states.size(); ++i) names.push_back(reserve(hint));
    for (std::size_t i = 0; i < a.states.size(); ++i) {
        std::vector<std::string> alts;
        for (const auto& [chars, to] : a.states[i].next) {
            std::string frag;
            if (ctx == dfa_context::json_string) {
                frag = json_char_fragment(chars);
            } else if (chars.ranges().size() == 1 && chars.ranges()[0].lo == chars.ranges()[0].hi &&
                       chars.ranges()[0].lo < 0x80) {
                frag = gbnf_literal(std::string(1, static_cast<char>(chars.ranges()[0].lo)));
            } else {
                frag = gbnf_class(chars);
            }
            // A long character fragment (negated classes, escapes) gets its own rule, shared by
            // every state that uses it: large automata repeat a handful of classes.
            if (frag.size() > 40) frag = add("chars", frag);
            if (!frag.empty()) alts.push_back(frag + " " + names[static_cast<std::size_t>(to)]);
        }
        if (a.states[i].accept) alts.emplace_back(ctx == dfa_context::json_string ? "\"\\\"\"" : "\"\"");
        if (alts.empty()) throw schema_error("", "", "internal: empty automaton state");
        std::string body;
        for (std::size_t k = 0; k < alts.size(); ++k) body += (k == 0 ? "" : " | ") + alts[k];
        define(names[i], body);
    }
    if (ctx == dfa_context::json_string) return add(std::string(hint) + "-str", "\"\\\"\" " + names[0]);
    return names[0];
}

}  // namespace sluice::grammar::json_schema_detail
