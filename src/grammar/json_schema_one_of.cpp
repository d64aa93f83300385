// oneOf as exactly one: each branch is narrowed so that no instance also matches another
// branch, where the other branch can be negated - its required keys, and the values of its
// properties when they are negatable (type, string enum, string keywords). Branches that
// cannot be negated leave oneOf acting as anyOf against them (docs/structured-output.md).
#include <algorithm>
#include <array>

#include "grammar/json_schema_compiler.hpp"

namespace sluice::grammar::json_schema_detail {

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

namespace {

// JSON value kinds as oneOf sees them: "number" is integer + nonint.
constexpr std::array<const char*, 7> k_kinds = {"null", "boolean", "object", "array", "string", "integer", "nonint"};
using kind_set = unsigned;

kind_set kinds_of_type(std::string_view t) {
    for (std::size_t i = 0; i < k_kinds.size(); ++i) {
        if (t == k_kinds[i]) return 1u << i;
    }
    return t == "number" ? (1u << 5) | (1u << 6) : 0u;
}

kind_set kinds_of(const json::value& sub) {
    if (sub.is_bool()) return sub.as_bool() ? 0x7Fu : 0u;
    const json::object* o = sub.if_object();
    if (o == nullptr) return 0x7Fu;
    const json::value* t = o->if_contains("type");
    if (t == nullptr) return 0x7Fu;
    kind_set k = 0;
    if (t->is_string()) k = kinds_of_type(t->as_string());
    if (t->is_array()) {
        for (const json::value& e : t->as_array()) {
            if (e.is_string()) k |= kinds_of_type(e.as_string());
        }
    }
    if (const json::value* n = o->if_contains("x-sluice-nonint"); n != nullptr && n->is_bool() && n->as_bool()) k &= ~(1u << 5);
    if (const json::value* n = o->if_contains("nullable"); n != nullptr && n->is_bool() && n->as_bool()) k |= 1u;
    return k;
}

// Kinds the branch accepts whole: no keyword narrows them.
kind_set full_kinds(const json::value& sub) {
    if (sub.is_bool()) return kinds_of(sub);
    const json::object* o = sub.if_object();
    if (o == nullptr || has_assertions(*o, "type")) return 0;
    return kinds_of(sub);
}

}  // namespace

void split_one_of_kinds(std::vector<json::value>& subs) {
    std::vector<kind_set> kinds;
    std::vector<kind_set> full;
    for (const json::value& s : subs) {
        kinds.push_back(kinds_of(s));
        full.push_back(full_kinds(s));
    }
    std::vector<kind_set> removed(subs.size(), 0);
    for (std::size_t k = 0; k < k_kinds.size(); ++k) {
        const kind_set bit = 1u << k;
        std::size_t n_full = 0;
        for (kind_set f : full) n_full += (f & bit) != 0 ? 1 : 0;
        if (n_full == 0) continue;
        // Two branches accept this kind whole: every such value matches both. One does: a
        // value of this kind matching a narrower branch matches that one too.
        for (std::size_t i = 0; i < subs.size(); ++i) {
            if ((kinds[i] & bit) != 0 && (n_full >= 2 || (full[i] & bit) == 0)) removed[i] |= bit;
        }
    }
    for (std::size_t i = 0; i < subs.size(); ++i) {
        if (removed[i] == 0) continue;
        const kind_set keep = kinds[i] & ~removed[i];
        if (keep == 0) {
            subs[i] = false;
            continue;
        }
        if (subs[i].is_bool()) subs[i] = json::object{};
        json::object& o = subs[i].as_object();
        json::array types;
        for (std::size_t k = 0; k < 5; ++k) {
            if ((keep & (1u << k)) != 0) types.emplace_back(k_kinds[k]);
        }
        const bool integer = (keep & (1u << 5)) != 0;
        const bool nonint = (keep & (1u << 6)) != 0;
        if (integer && !nonint) types.emplace_back("integer");
        if (nonint) types.emplace_back("number");
        if (nonint && !integer) o["x-sluice-nonint"] = true;
        o["type"] = types;
        o.erase("nullable");
    }
}

void exclude_one_of_literals(std::vector<json::value>& subs, schema_compiler& c, const std::string& ptr, int depth) {
    for (std::size_t i = 0; i < subs.size(); ++i) {
        json::object* o = subs[i].if_object();
        if (o == nullptr || (!o->contains("enum") && !o->contains("const"))) continue;
        json::array values;
        if (const json::value* k = o->if_contains("const")) values.push_back(*k);
        if (const json::value* e = o->if_contains("enum"); e != nullptr && e->is_array() && values.empty()) values = e->as_array();
        json::array keep;
        for (const json::value& v : values) {
            bool elsewhere = false;
            for (std::size_t j = 0; j < subs.size(); ++j) {
                if (j == i || !c.instance_valid(v, subs[j], ptr, depth + 1)) continue;
                elsewhere = true;
                // A string listed here that branch j also accepts is valid in neither.
                json::object* oj = subs[j].is_bool() && subs[j].as_bool() ? nullptr : subs[j].if_object();
                if (v.is_string() && oj != nullptr) {
                    json::value& n = (*oj)["x-sluice-not-string"];
                    if (n.is_null()) n = json::object{{"enum", json::array{}}};
                    if (json::value* list = n.as_object().if_contains("enum"); list != nullptr && list->is_array() && n.as_object().size() == 1) {
                        list->as_array().push_back(v);
                    }
                }
            }
            if (!elsewhere) keep.push_back(v);
        }
        if (keep.size() == values.size()) continue;
        o->erase("const");
        (*o)["enum"] = keep;
        if (keep.empty()) subs[i] = false;
    }
}

}  // namespace sluice::grammar::json_schema_detail
