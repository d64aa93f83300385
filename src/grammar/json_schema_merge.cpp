// allOf and $ref siblings: two schemas merged into one that accepts exactly what both accept
// (for the keywords sluice enforces). Subschemas below the top level are merged lazily as
// {"allOf": [x, y]}, so recursive definitions are only expanded as far as the value goes.
#include <algorithm>
#include <cmath>

#include "grammar/json_schema_compiler.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

json::value lazy_all_of(const json::value& a, const json::value& b) {
    if (a.is_bool() && a.as_bool()) return b;
    if (b.is_bool() && b.as_bool()) return a;
    if (json_equal(a, b)) return a;
    return json::object{{"allOf", json::array{a, b}}};
}

json::array type_list(const json::value& t) {
    if (t.is_array()) return t.as_array();
    return json::array{t};
}

// Types both allow ("integer" is the part of "number" they share).
json::value intersect_types(const json::value& a, const json::value& b) {
    json::array out;
    const json::array la = type_list(a);
    const json::array lb = type_list(b);
    auto has = [](const json::array& l, std::string_view t) {
        return std::any_of(l.begin(), l.end(), [&](const json::value& v) { return v.is_string() && v.as_string() == t; });
    };
    for (const json::value& t : la) {
        if (!t.is_string()) continue;
        const std::string_view s = t.as_string();
        if (has(lb, s) || (s == "integer" && has(lb, "number"))) {
            out.emplace_back(s);
        } else if (s == "number" && has(lb, "integer")) {
            out.emplace_back("integer");
        }
    }
    return out;
}

double num(const json::value& v) { return v.to_number<double>(); }

bool any_pattern_matches(const json::object* pp, std::string_view key, schema_compiler& c, const std::string& ptr,
                         std::vector<const json::value*>& schemas) {
    if (pp == nullptr) return false;
    bool any = false;
    const std::u32string k = decode_utf8(key);
    for (const auto& kv : *pp) {
        if (c.pattern_dfa(std::string(kv.key()), pointer_append(ptr, "patternProperties")).matches(k)) {
            schemas.push_back(&kv.value());
            any = true;
        }
    }
    return any;
}

const json::object* obj_at(const json::object& o, std::string_view k) {
    const json::value* v = o.if_contains(k);
    return v != nullptr ? v->if_object() : nullptr;
}

}  // namespace

void schema_compiler::charge(const std::string& ptr) {
    if (++work_ > k_max_work) refuse(ptr, "allOf", "schema too complex: allOf/$ref/enum expansion over budget");
}

json::value schema_compiler::flatten(const json::value& schema, const std::string& ptr, int depth) {
    if (depth > k_max_depth) refuse(ptr, "allOf", "allOf/$ref expansion deeper than " + std::to_string(k_max_depth));
    charge(ptr);
    if (!schema.is_object()) return schema;
    const json::object& o = schema.as_object();
    if (!o.contains("$ref") && !o.contains("allOf")) return schema;
    json::object rest = o;
    rest.erase("$ref");
    rest.erase("allOf");
    json::value result = rest;
    if (const json::value* ref = o.if_contains("$ref")) {
        std::string target_ptr;
        const json::value& target = resolve_ref(*ref, ptr, target_ptr);
        // A referenced schema flattens to the same value wherever it is used: once each.
        auto cached = flat_cache_.find(target_ptr);
        if (cached == flat_cache_.end()) cached = flat_cache_.emplace(target_ptr, flatten(target, target_ptr, depth + 1)).first;
        json::value t = cached->second;
        result = ignore_ref_siblings_ ? t : merge(result, t, ptr, depth + 1);
    }
    if (const json::value* all = o.if_contains("allOf")) {
        if (!all->is_array()) refuse(pointer_append(ptr, "allOf"), "allOf", "allOf must be an array");
        std::size_t i = 0;
        for (const json::value& b : all->as_array()) {
            const std::string bptr = pointer_append(pointer_append(ptr, "allOf"), std::to_string(i++));
            result = merge(result, b, bptr, depth + 1);
        }
    }
    return result;
}

json::value schema_compiler::merge(const json::value& a_in, const json::value& b_in, const std::string& ptr, int depth) {
    charge(ptr);
    const json::value a = flatten(a_in, ptr, depth + 1);
    const json::value b = flatten(b_in, ptr, depth + 1);
    if (a.is_bool()) return a.as_bool() ? b : a;
    if (b.is_bool()) return b.as_bool() ? a : b;
    if (!a.is_object() || !b.is_object()) refuse(ptr, "", "a schema must be an object or a boolean");
    const json::object& x = a.as_object();
    const json::object& y = b.as_object();
    json::object out = x;
    for (const auto& kv : y) {
        const std::string_view k = kv.key();
        const json::value& v = kv.value();
        json::value* mine = out.if_contains(k);
        if (mine == nullptr) {
            out[k] = v;
            continue;
        }
        if (json_equal(*mine, v)) continue;
        if (k == "type") {
            *mine = intersect_types(*mine, v);
        } else if (k == "enum" && mine->is_array() && v.is_array()) {
            json::array both;
            for (const json::value& e : mine->as_array()) {
                if (std::any_of(v.as_array().begin(), v.as_array().end(), [&](const json::value& f) { return json_equal(e, f); })) {
                    both.push_back(e);
                }
            }
            *mine = both;
        } else if (k == "const") {
            return false;
        } else if (k == "required" && mine->is_array() && v.is_array()) {
            for (const json::value& r : v.as_array()) {
                if (std::find(mine->as_array().begin(), mine->as_array().end(), r) == mine->as_array().end()) {
                    mine->as_array().push_back(r);
                }
            }
        } else if (k == "properties" || k == "patternProperties") {
            if (!mine->is_object() || !v.is_object()) refuse(pointer_append(ptr, k), std::string(k), "must be an object");
            for (const auto& p : v.as_object()) {
                json::value* cur = mine->as_object().if_contains(p.key());
                mine->as_object()[p.key()] = cur == nullptr ? p.value() : lazy_all_of(*cur, p.value());
            }
        } else if (k == "additionalProperties" || k == "items" || k == "additionalItems" || k == "propertyNames") {
            if (mine->is_array() || v.is_array()) refuse(pointer_append(ptr, k), std::string(k), "cannot merge tuple forms");
            *mine = lazy_all_of(*mine, v);
        } else if (k == "minimum" || k == "minLength" || k == "minItems" || k == "minProperties" ||
                   (k == "exclusiveMinimum" && mine->is_number() && v.is_number())) {
            if (num(v) > num(*mine)) *mine = v;
        } else if (k == "maximum" || k == "maxLength" || k == "maxItems" || k == "maxProperties" ||
                   (k == "exclusiveMaximum" && mine->is_number() && v.is_number())) {
            if (num(v) < num(*mine)) *mine = v;
        } else if (k == "pattern") {
            json::value& extra = out["x-sluice-patterns"];
            if (!extra.is_array()) extra = json::array{};
            extra.as_array().push_back(v);
        } else if (k == "anyOf" || k == "oneOf") {
            json::array combos;
            for (const json::value& l : mine->as_array()) {
                for (const json::value& r : v.as_array()) {
                    combos.push_back(lazy_all_of(l, r));
                    if (combos.size() > 256) refuse(pointer_append(ptr, k), std::string(k), "allOf of anyOfs has over 256 combinations");
                }
            }
            *mine = combos;
        } else if (k == "uniqueItems" || k == "nullable") {
            *mine = k == "uniqueItems" ? (mine->is_bool() && mine->as_bool()) || (v.is_bool() && v.as_bool())
                                       : (mine->is_bool() && mine->as_bool()) && (v.is_bool() && v.as_bool());
        } else if (k == "x-sluice-property-not" && mine->is_object() && v.is_object()) {
            for (const auto& p : v.as_object()) {
                if (!mine->as_object().contains(p.key())) mine->as_object()[p.key()] = p.value();
            }
        } else if ((k == "x-sluice-patterns" || k == "x-sluice-not-required") && mine->is_array() && v.is_array()) {
            for (const json::value& e : v.as_array()) mine->as_array().push_back(e);
        } else if (!is_assertion(k)) {
            continue;
        } else {
            refuse(pointer_append(ptr, k), std::string(k), "cannot merge two different \"" + std::string(k) + "\" in allOf");
        }
    }
    // A key one side names is "additional" for the other side: it must satisfy the other
    // side's patternProperties / additionalProperties too.
    if (json::object* props = out.contains("properties") ? out["properties"].if_object() : nullptr) {
        for (auto& p : *props) {
            for (const json::object* side : {&x, &y}) {
                const json::object* sp = obj_at(*side, "properties");
                if (sp != nullptr && sp->contains(p.key())) continue;
                std::vector<const json::value*> pats;
                if (any_pattern_matches(obj_at(*side, "patternProperties"), p.key(), *this, ptr, pats)) {
                    for (const json::value* s : pats) p.value() = lazy_all_of(p.value(), *s);
                } else if (const json::value* ap = side->if_contains("additionalProperties")) {
                    p.value() = lazy_all_of(p.value(), *ap);
                }
            }
        }
    }
    if (json::object* pats = out.contains("patternProperties") ? out["patternProperties"].if_object() : nullptr) {
        for (auto& p : *pats) {
            for (const json::object* side : {&x, &y}) {
                const json::object* sp = obj_at(*side, "patternProperties");
                if (sp != nullptr && sp->contains(p.key())) continue;
                if (const json::value* ap = side->if_contains("additionalProperties")) p.value() = lazy_all_of(p.value(), *ap);
            }
        }
    }
    return out;
}

}  // namespace sluice::grammar::json_schema_detail
