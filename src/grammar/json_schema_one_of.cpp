// oneOf as exactly one: each branch is narrowed so that no instance also matches another
// branch, where the other branch can be negated - its required keys, and the values of its
// properties when they are negatable (type, string enum, string keywords). Branches that
// cannot be negated leave oneOf acting as anyOf against them (docs/structured-output.md).
#include <algorithm>

#include "grammar/json_schema_compiler.hpp"

namespace sluice::grammar::detail {

exclusion branch_exclusion(const json::value& b, schema_compiler& c, const std::string& ptr, int depth) {
    exclusion e;
    const json::object* o = b.if_object();
    if (o == nullptr) return e;
    const json::value* req = o->if_contains("required");
    if (req == nullptr || !req->is_array() || req->as_array().empty()) return e;
    for (const auto& kv : *o) {
        const std::string_view k = kv.key();
        if (!is_assertion(k) || k == "required" || k == "properties") continue;
        if (k == "type" && kv.value().is_string() && kv.value().as_string() == "object") continue;
        return e;
    }
    // Fallback when the properties cannot be negated: exclude by the required keys alone
    // (stricter than oneOf: an instance with those keys that fails this branch otherwise is
    // rejected too; documented).
    e.k = exclusion::kind::required_only;
    e.required = req->as_array();
    std::vector<std::string> typed;
    json::object flat_props;
    if (const json::value* p0 = o->if_contains("properties"); p0 != nullptr && p0->is_object()) {
        for (const auto& kv : p0->as_object()) flat_props[kv.key()] = c.flatten(kv.value(), ptr, depth + 1);
        for (const auto& kv : flat_props) {
            const bool trivial = (kv.value().is_bool() && kv.value().as_bool()) ||
                                 (kv.value().is_object() && !has_assertions(kv.value().as_object()));
            if (trivial) continue;
            const bool required = std::find(req->as_array().begin(), req->as_array().end(), json::value(kv.key())) != req->as_array().end();
            if (!required || !kv.value().is_object() || !is_negatable(kv.value().as_object())) {
                if (req->as_array().size() == 1) return e;  // keep required_only
                e.k = exclusion::kind::none;
                return e;
            }
            typed.emplace_back(kv.key());
        }
    }
    if (typed.empty()) {
        e.k = exclusion::kind::combo;
        e.required = req->as_array();
    } else if (req->as_array().size() == 1) {
        e.k = exclusion::kind::type;
        e.required = req->as_array();
        e.type = flat_props.at(typed[0]);
    }
    return e;
}

// Branch `self` of a oneOf, narrowed so that no instance also matches a negatable other branch.
json::value exclude_others(json::value sub, const std::vector<exclusion>& excl, std::size_t self) {
    if (sub.is_bool()) {
        if (!sub.as_bool()) return sub;
        sub = json::object{};
    }
    json::object& o = sub.as_object();
    for (std::size_t j = 0; j < excl.size(); ++j) {
        if (j == self || excl[j].k == exclusion::kind::none) continue;
        if (excl[j].k == exclusion::kind::required_only) {
            // Only when this branch does not itself require those keys (discriminated unions
            // such as {"kind": {"const": ...}} stay exclusive through their values).
            const json::value* mine = o.if_contains("required");
            const bool implied = mine != nullptr && mine->is_array() &&
                                 std::all_of(excl[j].required.begin(), excl[j].required.end(), [&](const json::value& k) {
                                     return std::find(mine->as_array().begin(), mine->as_array().end(), k) != mine->as_array().end();
                                 });
            if (implied) continue;
        }
        if (excl[j].k == exclusion::kind::combo || excl[j].k == exclusion::kind::required_only) {
            json::value& list = o["x-sluice-not-required"];
            if (!list.is_array()) list = json::array{};
            list.as_array().push_back(excl[j].required);
        } else {
            json::value& pn = o["x-sluice-property-not"];
            if (!pn.is_object()) pn = json::object{};
            const std::string_view key = excl[j].required[0].as_string();
            json::value* cur = pn.as_object().if_contains(key);
            if (cur != nullptr) return sub;  // two type exclusions on one key: keep the first
            pn.as_object()[key] = excl[j].type;
        }
    }
    return sub;
}

}  // namespace sluice::grammar::detail
