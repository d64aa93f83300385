// Strings: minLength/maxLength (code points; an escape counts as one), pattern (unanchored
// ECMA-262 subset, see regex_parser.cpp) and format. Several constraints at once are one DFA,
// their product, written as right-linear rules over the JSON-escaped characters.
#include <map>

#include "grammar/json_schema_compiler.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

constexpr long long k_max_plain_repeat = 1000;
// States of pattern x length automata (each becomes a rule).
constexpr std::size_t k_max_string_product = 1024;

long long length_keyword(const json::object& s, const char* k, const std::string& ptr, long long fallback) {
    const json::value* v = s.if_contains(k);
    if (v == nullptr) return fallback;
    if (!v->is_number() || v->to_number<double>() < 0) refuse(pointer_append(ptr, k), k, std::string(k) + " must be a non-negative number");
    const double d = v->to_number<double>();
    return d > 1e9 ? 1'000'000'000LL : static_cast<long long>(d);
}

}  // namespace

std::string bounded_repeat(rule_set& rules, const std::string& x, long long min, long long max) {
    auto rep = [&](const std::string& y, long long lo, long long hi) {
        if (lo == 0 && hi < 0) return y + "*";
        if (hi < 0) return y + "{" + std::to_string(lo) + ",}";
        if (lo == hi) return y + "{" + std::to_string(lo) + "}";
        return y + "{" + std::to_string(lo) + "," + std::to_string(hi) + "}";
    };
    const long long b = k_max_plain_repeat;
    if (min <= b && (max < 0 || max <= b)) return rep(x, min, max);
    // Blocks of b as their own rule, so the GBNF parser expands x{b} once, not per block.
    const std::string block = rules.add("block", x + "{" + std::to_string(b) + "}");
    std::string out;
    if (min / b > 0) out += rep(block, min / b, min / b) + " ";
    if (min % b > 0) out += rep(x, min % b, min % b) + " ";
    if (max < 0) return out + block + "* " + rep(x, 0, b - 1);
    // Then 0..extra more: fewer than q full blocks and any remainder, or q blocks and up to r.
    const long long extra = max - min;
    const long long q = extra / b;
    const long long r = extra % b;
    std::string tail = "(";
    if (q > 0) tail += (q > 1 ? rep(block, 0, q - 1) + " " : std::string()) + rep(x, 0, b - 1) + " | ";
    tail += rep(block, q, q) + " " + rep(x, 0, r) + ")";
    return out + tail;
}

namespace {

const char* format_pattern(std::string_view f) {
    if (f == "date") return "^\\d{4}-((0[13578]|1[02])-(0[1-9]|[12]\\d|3[01])|(0[469]|11)-(0[1-9]|[12]\\d|30)|02-(0[1-9]|1\\d|2\\d))$";
    if (f == "time") return "^([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d+)?([zZ]|[+-]([01]\\d|2[0-3]):[0-5]\\d)$";
    if (f == "date-time") {
        return "^\\d{4}-((0[13578]|1[02])-(0[1-9]|[12]\\d|3[01])|(0[469]|11)-(0[1-9]|[12]\\d|30)|02-(0[1-9]|1\\d|2\\d))"
               "[tT]([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d+)?([zZ]|[+-]([01]\\d|2[0-3]):[0-5]\\d)$";
    }
    if (f == "uuid") return "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
    if (f == "email") return "^[^\\s@\"<>()\\[\\]\\\\,;:]+@[^\\s@\"<>()\\[\\]\\\\,;:]+\\.[^\\s@\"<>()\\[\\]\\\\,;:.]+$";
    if (f == "uri") return "^[a-zA-Z][a-zA-Z0-9+.\\-]*:[^\\s\"<>\\\\^`{|}]*$";
    if (f == "ipv4") return "^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$";
    if (f == "ipv6") {
        // RFC 4291 text forms: eight groups, "::" compression, an embedded IPv4 tail.
#define H "[0-9a-fA-F]{1,4}"
#define V4 "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)"
        return "^((" H ":){7}" H "|(" H ":){1,7}:|(" H ":){1,6}:" H "|(" H ":){1,5}(:" H "){1,2}|(" H ":){1,4}(:" H "){1,3}"
               "|(" H ":){1,3}(:" H "){1,4}|(" H ":){1,2}(:" H "){1,5}|" H ":(:" H "){1,6}|:((:" H "){1,7}|:)"
               "|(" H ":){6}" V4 "|::(" H ":){0,5}" V4 "|(" H ":){1,5}:(" H ":){0,4}" V4 ")$";
#undef H
#undef V4
    }
    if (f == "hostname") {
        return "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$";
    }
    return nullptr;
}

}  // namespace

const dfa& schema_compiler::pattern_dfa(const std::string& pattern, const std::string& ptr) {
    if (auto it = pattern_cache_.find(pattern); it != pattern_cache_.end()) return it->second;
    try {
        return pattern_cache_.emplace(pattern, compile_pattern(pattern, k_max_dfa_states)).first->second;
    } catch (const regex_error& e) {
        refuse(ptr, "pattern", std::string("pattern ") + json::serialize(json::value(pattern)) + ": " + e.what());
    }
}

const dfa* schema_compiler::format_dfa(const std::string& format, const std::string& ptr) {
    if (auto it = format_cache_.find(format); it != format_cache_.end()) return &it->second;
    const char* text = format_pattern(format);
    if (text == nullptr) return nullptr;  // unknown formats are annotations (JSON Schema 2020-12)
    try {
        return &format_cache_.emplace(format, compile_pattern(text, k_max_dfa_states)).first->second;
    } catch (const regex_error& e) {
        refuse(ptr, "format", std::string("format ") + format + ": " + e.what());
    }
}

std::optional<dfa> schema_compiler::string_dfa(const json::object& s, const std::string& ptr) {
    std::optional<dfa> d;
    auto add = [&](const dfa& x) { d = d ? intersect(*d, x, k_max_dfa_states) : x; };
    try {
        if (const json::value* p = s.if_contains("pattern")) {
            if (!p->is_string()) refuse(pointer_append(ptr, "pattern"), "pattern", "pattern must be a string");
            add(pattern_dfa(std::string(p->as_string()), pointer_append(ptr, "pattern")));
        }
        if (const json::value* ps = s.if_contains("x-sluice-patterns"); ps != nullptr && ps->is_array()) {
            for (const json::value& p : ps->as_array()) {
                if (p.is_string()) add(pattern_dfa(std::string(p.as_string()), pointer_append(ptr, "allOf")));
            }
        }
        if (const json::value* f = s.if_contains("format"); f != nullptr && f->is_string()) {
            if (const dfa* fd = format_dfa(std::string(f->as_string()), pointer_append(ptr, "format"))) add(*fd);
        }
        if (const json::value* n = s.if_contains("x-sluice-not-string"); n != nullptr && n->is_object()) {
            // Strings the `not` schema matches: its string keywords and string enum.
            const json::object& no = n->as_object();
            std::optional<dfa> matched = string_dfa(no, pointer_append(ptr, "not"));
            if (!matched) {
                const long long mn = length_keyword(no, "minLength", ptr, 0);
                const long long mx = length_keyword(no, "maxLength", ptr, -1);
                matched = length_dfa(static_cast<std::size_t>(std::min<long long>(mn, 10000)), std::min<long long>(mx, 10000));
            }
            std::vector<std::u32string> words;
            bool listed = false;
            for (const char* k : {"enum", "const"}) {
                if (const json::value* e = no.if_contains(k)) {
                    listed = true;
                    if (e->is_string()) words.push_back(decode_utf8(e->as_string()));
                    if (e->is_array()) {
                        for (const json::value& w : e->as_array()) words.push_back(decode_utf8(w.as_string()));
                    }
                }
            }
            if (listed) matched = intersect(*matched, literal_dfa(words), k_max_dfa_states);
            add(complement(*matched));
        }
        if (d) {
            const long long min = length_keyword(s, "minLength", ptr, 0);
            const long long max = length_keyword(s, "maxLength", ptr, -1);
            if (min > 0 || max >= 0) {
                if (min > 10000) refuse(pointer_append(ptr, "minLength"), "minLength", "minLength over 10000 together with a pattern or format");
                try {
                    const dfa len = length_dfa(static_cast<std::size_t>(min), std::min<long long>(max, 10000));
                    d = intersect(*d, len, k_max_string_product);
                } catch (const regex_error&) {
                    // Pattern x length needs too many states: a sound subset, strings up to
                    // the length the budget allows (documented).
                    const long long cap = static_cast<long long>(k_max_string_product / std::max<std::size_t>(1, d->states.size())) - 1;
                    if (cap < std::max<long long>(min, 32)) throw;
                    add(length_dfa(static_cast<std::size_t>(min), max < 0 ? cap : std::min(max, cap)));
                }
            }
        }
    } catch (const regex_error& e) {
        refuse(pointer_append(ptr, "pattern"), "pattern", std::string("pattern with length limits: ") + e.what());
    }
    return d;
}

opt_rule schema_compiler::string_rule(const json::object& s, const std::string& ptr) {
    const long long min = length_keyword(s, "minLength", ptr, 0);
    const long long max = length_keyword(s, "maxLength", ptr, -1);
    if (max >= 0 && min > max) return std::nullopt;
    std::optional<dfa> d = string_dfa(s, ptr);
    if (!d) {
        if (min == 0 && max < 0) return any_string_rule();
        const std::string ch = rules_.add("char", "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})");
        any_string_rule();
        return rules_.add("string", "\"\\\"\" " + bounded_repeat(rules_, ch, min, max) + " \"\\\"\"");
    }
    if (d->empty()) return std::nullopt;
    std::string key = "s";
    for (const char* k : {"pattern", "x-sluice-patterns", "x-sluice-not-string", "format", "minLength", "maxLength"}) {
        if (const json::value* v = s.if_contains(k)) key += std::string("|") + k + "=" + json::serialize(*v);
    }
    if (auto it = scalar_cache_.find(key); it != scalar_cache_.end()) return it->second;
    opt_rule r = rules_.add_dfa("pattern", *d, dfa_context::json_string);
    scalar_cache_[key] = r;
    return r;
}

}  // namespace sluice::grammar::json_schema_detail
