// enum and const: the listed values that also satisfy the schema's other keywords (checked
// with a small validator for the keywords sluice enforces), each written as a literal.
// Object literals keep the key order they are written in.
#include <algorithm>
#include <cmath>

#include "grammar/json_schema_compiler.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

bool is_integer_value(const json::value& v) {
    return v.is_int64() || v.is_uint64() || (v.is_double() && std::isfinite(v.as_double()) && std::floor(v.as_double()) == v.as_double());
}

bool type_matches(const json::value& v, std::string_view t) {
    if (t == "null") return v.is_null();
    if (t == "boolean") return v.is_bool();
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "number") return v.is_number();
    if (t == "integer") return is_integer_value(v);
    return false;
}

double num(const json::value& v) { return v.to_number<double>(); }

}  // namespace

bool json_equal(const json::value& a, const json::value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_double() || b.is_double()) return num(a) == num(b);
        if (a.is_int64() && b.is_int64()) return a.as_int64() == b.as_int64();
        if (a.is_uint64() && b.is_uint64()) return a.as_uint64() == b.as_uint64();
        const json::value& s = a.is_int64() ? a : b;
        const json::value& u = a.is_int64() ? b : a;
        return s.as_int64() >= 0 && static_cast<std::uint64_t>(s.as_int64()) == u.as_uint64();
    }
    if (a.kind() != b.kind()) return false;
    if (a.is_array()) {
        const json::array& x = a.as_array();
        const json::array& y = b.as_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (!json_equal(x[i], y[i])) return false;
        }
        return true;
    }
    if (a.is_object()) {
        const json::object& x = a.as_object();
        const json::object& y = b.as_object();
        if (x.size() != y.size()) return false;
        for (const auto& kv : x) {
            const json::value* o = y.if_contains(kv.key());
            if (o == nullptr || !json_equal(kv.value(), *o)) return false;
        }
        return true;
    }
    return a == b;
}

std::string schema_compiler::literal_value(const json::value& v) {
    const std::string w = ws();
    switch (v.kind()) {
        case json::kind::null: return "\"null\"";
        case json::kind::bool_: return v.as_bool() ? "\"true\"" : "\"false\"";
        case json::kind::int64: return gbnf_literal(std::to_string(v.as_int64()));
        case json::kind::uint64: return gbnf_literal(std::to_string(v.as_uint64()));
        case json::kind::double_: {
            const double d = v.as_double();
            const std::string py = python_float(d);
            if (is_integer_value(v) && std::fabs(d) < 1e15) {
                const std::string i = std::to_string(static_cast<long long>(d));
                return "(" + gbnf_literal(i) + " | " + gbnf_literal(py) + ")";
            }
            return gbnf_literal(py);
        }
        case json::kind::string: return json_string_literal(v.as_string());
        case json::kind::array: {
            std::string body = "\"[\"" + w;
            bool first = true;
            for (const json::value& e : v.as_array()) {
                body += (first ? "" : "\",\"" + w) + literal_value(e) + w;
                first = false;
            }
            return "(" + body + "\"]\")";
        }
        case json::kind::object: {
            std::string body = "\"{\"" + w;
            bool first = true;
            for (const auto& kv : v.as_object()) {
                body += (first ? "" : "\",\"" + w) + json_string_literal(kv.key()) + w + "\":\"" + w + literal_value(kv.value()) + w;
                first = false;
            }
            return "(" + body + "\"}\")";
        }
    }
    return "\"null\"";
}

opt_rule schema_compiler::literal_rule(const json::object& s, const std::string& ptr, int depth) {
    std::vector<json::value> values;
    if (const json::value* c = s.if_contains("const")) values.push_back(*c);
    if (const json::value* e = s.if_contains("enum")) {
        if (!e->is_array()) refuse(pointer_append(ptr, "enum"), "enum", "enum must be an array");
        if (e->as_array().size() > k_max_enum_values) {
            refuse(pointer_append(ptr, "enum"), "enum", "enum has over " + std::to_string(k_max_enum_values) + " values");
        }
        if (values.empty()) {
            values.assign(e->as_array().begin(), e->as_array().end());
        } else {
            const bool listed = std::any_of(e->as_array().begin(), e->as_array().end(), [&](const json::value& x) { return json_equal(x, values[0]); });
            if (!listed) values.clear();
        }
    }
    json::object rest = s;
    rest.erase("enum");
    rest.erase("const");
    std::vector<std::string> alts;
    for (const json::value& v : values) {
        if (!instance_valid(v, rest, ptr, depth + 1)) continue;
        std::string lit = literal_value(v);
        if (std::find(alts.begin(), alts.end(), lit) == alts.end()) alts.push_back(std::move(lit));
    }
    if (alts.empty()) return std::nullopt;
    std::string body;
    for (const std::string& a : alts) body += (body.empty() ? "" : " | ") + a;
    return rules_.add("enum", body);
}

bool schema_compiler::instance_valid(const json::value& v, const json::value& schema_in, const std::string& ptr, int depth) {
    if (depth > k_max_depth) refuse(ptr, "", "schema nested too deeply");
    charge(ptr);
    const json::value schema = flatten(schema_in, ptr, depth + 1);
    if (schema.is_bool()) return schema.as_bool();
    if (!schema.is_object()) return true;
    const json::object& s = schema.as_object();
    auto sub = [&](const json::value& inst, const json::value& sch) { return instance_valid(inst, sch, ptr, depth + 1); };
    if (const json::value* t = s.if_contains("type")) {
        bool ok = false;
        if (t->is_string()) ok = type_matches(v, t->as_string());
        if (t->is_array()) {
            for (const json::value& x : t->as_array()) ok = ok || (x.is_string() && type_matches(v, x.as_string()));
        }
        if (const json::value* n = s.if_contains("nullable"); n != nullptr && n->is_bool() && n->as_bool()) ok = ok || v.is_null();
        if (!ok) return false;
    }
    if (const json::value* c = s.if_contains("const"); c != nullptr && !json_equal(*c, v)) return false;
    if (const json::value* e = s.if_contains("enum"); e != nullptr && e->is_array()) {
        if (std::none_of(e->as_array().begin(), e->as_array().end(), [&](const json::value& x) { return json_equal(x, v); })) return false;
    }
    for (const char* k : {"anyOf", "oneOf"}) {
        if (const json::value* l = s.if_contains(k); l != nullptr && l->is_array()) {
            const auto n = std::count_if(l->as_array().begin(), l->as_array().end(), [&](const json::value& b) { return sub(v, b); });
            if (n == 0 || (std::string_view(k) == "oneOf" && n > 1)) return false;
        }
    }
    if (const json::value* n = s.if_contains("not"); n != nullptr && sub(v, *n)) return false;
    if (v.is_number()) {
        if (const json::value* n = s.if_contains("x-sluice-nonint"); n != nullptr && n->is_bool() && n->as_bool() && is_integer_value(v)) {
            return false;
        }
        const double d = num(v);
        auto bound = [&](const char* k) { const json::value* b = s.if_contains(k); return b != nullptr && b->is_number() ? b : nullptr; };
        auto flag = [&](const char* k) { const json::value* b = s.if_contains(k); return b != nullptr && b->is_bool() && b->as_bool(); };
        if (const json::value* b = bound("minimum"); b != nullptr && (flag("exclusiveMinimum") ? d <= num(*b) : d < num(*b))) return false;
        if (const json::value* b = bound("maximum"); b != nullptr && (flag("exclusiveMaximum") ? d >= num(*b) : d > num(*b))) return false;
        if (const json::value* b = bound("exclusiveMinimum"); b != nullptr && d <= num(*b)) return false;
        if (const json::value* b = bound("exclusiveMaximum"); b != nullptr && d >= num(*b)) return false;
    }
    if (v.is_string()) {
        const std::u32string cps = decode_utf8(v.as_string());
        if (const json::value* b = s.if_contains("minLength"); b != nullptr && b->is_number() && static_cast<double>(cps.size()) < num(*b)) return false;
        if (const json::value* b = s.if_contains("maxLength"); b != nullptr && b->is_number() && static_cast<double>(cps.size()) > num(*b)) return false;
        if (std::optional<dfa> d = string_dfa(s, ptr); d && !d->matches(cps)) return false;
    }
    if (v.is_array()) {
        const json::array& a = v.as_array();
        if (const json::value* b = s.if_contains("minItems"); b != nullptr && b->is_number() && static_cast<double>(a.size()) < num(*b)) return false;
        if (const json::value* b = s.if_contains("maxItems"); b != nullptr && b->is_number() && static_cast<double>(a.size()) > num(*b)) return false;
        const json::value* items = s.if_contains("items");
        const json::value* prefix = s.if_contains("prefixItems");
        const json::value* rest = items;
        if (items != nullptr && items->is_array()) {
            prefix = items;
            rest = s.if_contains("additionalItems");
        }
        for (std::size_t i = 0; i < a.size(); ++i) {
            const bool in_prefix = prefix != nullptr && prefix->is_array() && i < prefix->as_array().size();
            const json::value* sch = in_prefix ? &prefix->as_array()[i] : rest;
            if (sch != nullptr && !sub(a[i], *sch)) return false;
        }
    }
    if (v.is_object()) {
        const json::object& o = v.as_object();
        if (const json::value* r = s.if_contains("required"); r != nullptr && r->is_array()) {  // draft-03 booleans: see object_rule
            for (const json::value& k : r->as_array()) {
                if (k.is_string() && !o.contains(k.as_string())) return false;
            }
        }
        if (const json::value* nr = s.if_contains("x-sluice-not-required"); nr != nullptr && nr->is_array()) {
            for (const json::value& set : nr->as_array()) {
                if (set.is_array() && std::all_of(set.as_array().begin(), set.as_array().end(),
                                                  [&](const json::value& k) { return k.is_string() && o.contains(k.as_string()); })) {
                    return false;
                }
            }
        }
        if (const json::value* pn = s.if_contains("x-sluice-property-not"); pn != nullptr && pn->is_object()) {
            for (const auto& kv : pn->as_object()) {
                const json::value* x = o.if_contains(kv.key());
                if (x != nullptr && sub(*x, kv.value())) return false;
            }
        }
        if (const json::value* b = s.if_contains("minProperties"); b != nullptr && b->is_number() && static_cast<double>(o.size()) < num(*b)) return false;
        if (const json::value* b = s.if_contains("maxProperties"); b != nullptr && b->is_number() && static_cast<double>(o.size()) > num(*b)) return false;
        const json::value* props = s.if_contains("properties");
        const json::value* pats = s.if_contains("patternProperties");
        const json::value* ap = s.if_contains("additionalProperties");
        for (const auto& kv : o) {
            bool matched = false;
            if (props != nullptr && props->is_object()) {
                if (const json::value* p = props->as_object().if_contains(kv.key())) {
                    matched = true;
                    if (!sub(kv.value(), *p)) return false;
                }
            }
            if (pats != nullptr && pats->is_object()) {
                for (const auto& pp : pats->as_object()) {
                    if (pattern_dfa(std::string(pp.key()), ptr).matches(decode_utf8(kv.key()))) {
                        matched = true;
                        if (!sub(kv.value(), pp.value())) return false;
                    }
                }
            }
            if (!matched && ap != nullptr && !sub(kv.value(), *ap)) return false;
        }
    }
    return true;
}

}  // namespace sluice::grammar::json_schema_detail
