// Arrays: prefixItems (or the old array form of items), items / additionalItems for the rest,
// minItems/maxItems. uniqueItems is not enforced (a CFG cannot; see
// docs/structured-output.md). Layout: "[" ws (item ws ("," ws item ws)*)? "]".
#include <algorithm>

#include "grammar/json_schema_compiler.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

long long items_keyword(const json::object& s, const char* k, const std::string& ptr, long long fallback) {
    const json::value* v = s.if_contains(k);
    if (v == nullptr) return fallback;
    if (!v->is_number() || v->to_number<double>() < 0) refuse(pointer_append(ptr, k), k, std::string(k) + " must be a non-negative number");
    return static_cast<long long>(std::min(v->to_number<double>(), 1e9));
}

}  // namespace

opt_rule schema_compiler::array_rule(const json::object& s, const std::string& ptr, int depth) {
    head_scope inside(*this);
    const std::string w = ws();
    const json::value k_true(true);
    const json::value* items = s.if_contains("items");
    const json::value* prefix = s.if_contains("prefixItems");
    const char* prefix_kw = "prefixItems";
    const json::value* rest = items != nullptr ? items : &k_true;
    const char* rest_kw = "items";
    if (items != nullptr && items->is_array()) {
        prefix = items;
        prefix_kw = "items";
        rest = s.if_contains("additionalItems");
        rest_kw = "additionalItems";
        if (rest == nullptr) rest = &k_true;
    }
    if (prefix != nullptr && !prefix->is_array()) refuse(pointer_append(ptr, prefix_kw), prefix_kw, "must be an array");

    long long min = items_keyword(s, "minItems", ptr, 0);
    long long max = items_keyword(s, "maxItems", ptr, -1);
    std::vector<std::string> pre;
    bool prefix_blocked = false;  // a prefix item no value satisfies: the array ends before it
    if (prefix != nullptr) {
        std::size_t i = 0;
        for (const json::value& p : prefix->as_array()) {
            if (max >= 0 && static_cast<long long>(i) >= max) break;
            const opt_rule r = value_rule(p, pointer_append(pointer_append(ptr, prefix_kw), std::to_string(i++)), depth + 1);
            if (!r) {
                prefix_blocked = true;
                break;
            }
            pre.push_back(*r);
        }
    }
    const long long kp = static_cast<long long>(pre.size());
    opt_rule item;
    if (!prefix_blocked && (max < 0 || max > kp)) item = value_rule(*rest, pointer_append(ptr, rest_kw), depth + 1);
    if (!item) max = max < 0 ? kp : std::min(max, kp);
    if (max >= 0 && min > max) return std::nullopt;

    // After the prefix: between lo and hi more items (hi < 0: unbounded).
    std::string tail = "\"]\"";
    if (item) {
        const long long lo = std::max(0LL, min - kp);
        const long long hi = max < 0 ? -1 : max - kp;
        const std::string more = "(\",\"" + w + *item + w + ")";
        if (kp > 0) {
            tail = (hi == 0 ? std::string() : bounded_repeat(rules_, more, lo, hi) + " ") + "\"]\"";
        } else {
            const std::string first = *item + w;
            std::string seq = first + (hi == 1 ? std::string() : " " + bounded_repeat(rules_, more, std::max(0LL, lo - 1), hi < 0 ? -1 : hi - 1));
            tail = lo == 0 ? "(" + seq + ")? \"]\"" : seq + " \"]\"";
        }
    }
    // The prefix, innermost first: after i items, close (if i >= min) or add item i.
    std::string after = rules_.add("arr-tail", tail);
    for (long long i = kp - 1; i >= 0; --i) {
        const std::string sep = i == 0 ? "" : "\",\"" + w;
        std::string body = sep + pre[static_cast<std::size_t>(i)] + w + after;
        if (i >= min) body = "\"]\" | " + body;
        after = rules_.add("arr", body);
    }
    return rules_.add("array", "\"[\"" + w + after);
}

}  // namespace sluice::grammar::json_schema_detail
