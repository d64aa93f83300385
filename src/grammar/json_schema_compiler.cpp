// JSON Schema -> GBNF: the entry points and the dispatch of a subschema ($ref, allOf, anyOf,
// oneOf, nullable, then one rule per allowed type). See docs/structured-output.md.
#include "grammar/json_schema_compiler.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace sluice::grammar {

schema_error::schema_error(std::string pointer_, std::string keyword_, const std::string& message)
    : sluice::error(errc::invalid_argument, message), pointer(std::move(pointer_)), keyword(std::move(keyword_)) {}

namespace json_schema_detail {

namespace {

constexpr std::array<std::string_view, 7> k_types = {"null", "boolean", "object", "array",
                                                     "string", "number", "integer"};

}  // namespace

bool is_assertion(std::string_view k) {
    static const std::set<std::string_view> keys = {
        "type", "enum", "const", "properties", "required", "additionalProperties", "patternProperties",
        "items", "prefixItems", "additionalItems", "minItems", "maxItems", "minLength", "maxLength",
        "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "anyOf", "oneOf", "allOf", "not", "$ref", "nullable", "minProperties", "maxProperties",
        "propertyNames", "dependencies", "dependentRequired", "dependentSchemas", "if", "contains",
        "uniqueItems", "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
        // private keys the compiler itself writes into merged schemas
        "x-sluice-patterns", "x-sluice-not-required", "x-sluice-property-not", "x-sluice-not-string", "x-sluice-nonint"};
    return keys.count(k) != 0;
}

namespace {

}  // namespace

bool has_assertions(const json::object& o, std::string_view except) {
    for (const auto& kv : o) {
        if (kv.key() != except && is_assertion(kv.key())) return true;
    }
    return false;
}

namespace {

std::string unescape_pointer_token(std::string_view t) {
    std::string out;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] == '~' && i + 1 < t.size() && (t[i + 1] == '0' || t[i + 1] == '1')) {
            out += t[i + 1] == '0' ? '~' : '/';
            ++i;
        } else {
            out += t[i];
        }
    }
    return out;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    auto hexv = [](char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
            out += static_cast<char>(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::set<std::string> allowed_types(const json::object& s, const std::string& ptr) {
    const json::value* t = s.if_contains("type");
    if (t == nullptr) return {k_types.begin(), k_types.end()};
    std::set<std::string> out;
    auto add = [&](const json::value& v) {
        if (!v.is_string() || std::find(k_types.begin(), k_types.end(), v.as_string()) == k_types.end()) {
            refuse(pointer_append(ptr, "type"), "type", "unknown type " + json::serialize(v));
        }
        out.emplace(v.as_string());
    };
    if (t->is_array()) {
        for (const json::value& v : t->as_array()) add(v);
    } else {
        add(*t);
    }
    return out;
}


}  // namespace

bool is_negatable(const json::object& n) {
    for (const auto& kv : n) {
        const std::string_view k = kv.key();
        if (!is_assertion(k)) continue;
        if (k == "type" || k == "pattern" || k == "minLength" || k == "maxLength" || k == "format" || k == "x-sluice-patterns") continue;
        if (k == "const" && kv.value().is_string()) continue;
        if (k == "enum" && kv.value().is_array() &&
            std::all_of(kv.value().as_array().begin(), kv.value().as_array().end(), [](const json::value& v) { return v.is_string(); })) {
            continue;
        }
        return false;
    }
    return true;
}

std::string pointer_append(const std::string& ptr, std::string_view key) {
    std::string out = ptr + "/";
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

void refuse(const std::string& ptr, std::string_view keyword, const std::string& why) {
    const std::string where = ptr.empty() ? "#" : "#" + ptr;
    throw schema_error(ptr, std::string(keyword), "schema " + where + ": " + why);
}

schema_compiler::schema_compiler(const json::value& root, const schema_options& opts)
    : root_(root), opts_(opts), rules_(k_max_grammar_bytes, opts.rule_prefix) {
    for (const char c : opts_.rule_prefix) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
            throw schema_error("", "", "rule_prefix may hold only letters, digits and '-'");
        }
    }
    if (!opts_.rule_prefix.empty() && !opts_.compact) throw schema_error("", "", "rule_prefix needs compact output");
    if (opts_.max_whitespace < 0 || opts_.max_whitespace > 1000) {
        throw schema_error("", "", "max_whitespace must be in 0..1000");
    }
    if (const json::object* o = root.if_object()) {
        if (const json::value* d = o->if_contains("$schema"); d != nullptr && d->is_string()) {
            const std::string_view s = d->as_string();
            for (std::string_view old : {"draft-03", "draft-04", "draft-06", "draft-07"}) {
                if (s.find(old) != std::string_view::npos) ignore_ref_siblings_ = true;
            }
        }
    }
    if (!opts_.compact) {
        const std::string n = std::to_string(opts_.max_whitespace);
        rules_.define(rules_.reserve("ws"), "[ \\t]{0," + n + "} | \"\\r\"? \"\\n\" [ \\t]{0," + n + "}");
    }
}

std::string schema_compiler::any_string_rule() {
    if (any_string_.empty()) {
        const std::string ch = rules_.add("char", "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})");
        any_string_ = rules_.add("string", "\"\\\"\" " + ch + "* \"\\\"\"");
    }
    return any_string_;
}

std::string schema_compiler::any_number_rule() {
    if (any_number_.empty()) {
        any_number_ = rules_.add("number", "\"-\"? (\"0\" | [1-9] [0-9]*) (\".\" [0-9]+)? ([eE] [-+]? [0-9]+)?");
    }
    return any_number_;
}

std::string schema_compiler::any_value_rule() {
    if (!any_value_.empty()) return any_value_;
    any_value_ = rules_.reserve("value");
    const std::string w = ws();
    const std::string member = rules_.add("member", any_string_rule() + w + "\":\"" + w + any_value_);
    any_object_ = rules_.add(
        "object", "\"{\"" + w + "(" + member + w + "(\",\"" + w + member + w + ")*)? \"}\"");
    const std::string array = rules_.add(
        "array", "\"[\"" + w + "(" + any_value_ + w + "(\",\"" + w + any_value_ + w + ")*)? \"]\"");
    rules_.define(any_value_, any_object_ + " | " + array + " | " + any_string_rule() + " | " + any_number_rule() +
                                  " | \"true\" | \"false\" | \"null\"");
    return any_value_;
}

const json::value& schema_compiler::resolve_ref(const json::value& ref, const std::string& ptr, std::string& target_ptr) {
    const std::string at = pointer_append(ptr, "$ref");
    if (!ref.is_string()) refuse(at, "$ref", "$ref must be a string");
    const std::string text = percent_decode(ref.as_string());
    if (text.empty() || text[0] != '#') refuse(at, "$ref", "only local references (\"#/...\") are supported: " + text);
    if (text.size() > 1 && text[1] != '/') refuse(at, "$ref", "anchor references are not supported: " + text);
    const json::value* cur = &root_;
    target_ptr.clear();
    std::size_t pos = 1;
    while (pos < text.size()) {
        const std::size_t next = text.find('/', pos + 1);
        const std::string token = unescape_pointer_token(std::string_view(text).substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1));
        if (const json::object* o = cur->if_object()) {
            cur = o->if_contains(token);
        } else if (const json::array* a = cur->if_array()) {
            std::size_t idx = 0;
            const bool digits = !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
            if (digits && token.size() < 9) idx = std::stoul(token);
            cur = digits && idx < a->size() ? &(*a)[idx] : nullptr;
        } else {
            cur = nullptr;
        }
        if (cur == nullptr) refuse(at, "$ref", "unresolvable reference " + text);
        target_ptr = pointer_append(target_ptr, token);
        pos = next == std::string::npos ? text.size() : next;
    }
    return *cur;
}

template <typename Compute>
opt_rule schema_compiler::memoized(const std::string& key, const std::string& hint, const std::string& ptr, Compute compute) {
    if (std::find(head_refs_.begin(), head_refs_.end(), key) != head_refs_.end()) {
        // Left recursion (X = X | ...): the cycle adds no value, the least fixpoint is the
        // other branches. A bare {"$ref":"#"} ends up with no value at all and is refused.
        return std::nullopt;
    }
    if (auto it = ref_done_.find(key); it != ref_done_.end()) return it->second;
    if (auto it = ref_pending_.find(key); it != ref_pending_.end()) {
        pending_used_.insert(key);
        return it->second;
    }
    const std::string name = rules_.reserve(hint);
    ref_pending_[key] = name;
    head_refs_.push_back(key);
    opt_rule r;
    try {
        r = compute();
    } catch (...) {
        head_refs_.pop_back();
        ref_pending_.erase(key);
        throw;
    }
    head_refs_.pop_back();
    ref_pending_.erase(key);
    if (!r) {
        if (pending_used_.count(key) != 0) refuse(ptr, "$ref", "recursive schema without a finite valid value");
        rules_.discard(name);
    } else {
        rules_.define(name, *r);
    }
    opt_rule result = r ? opt_rule(name) : std::nullopt;
    ref_done_[key] = result;
    return result;
}

opt_rule schema_compiler::ref_rule(const json::value& schema, const std::string& ptr, int depth) {
    const json::object& o = schema.as_object();
    std::string target_ptr;
    const json::value& target = resolve_ref(o.at("$ref"), ptr, target_ptr);
    return memoized("ref:" + target_ptr, "ref-" + target_ptr.substr(target_ptr.rfind('/') + 1), target_ptr,
                    [&] { return value_rule(target, target_ptr, depth + 1); });
}

opt_rule schema_compiler::alternatives_rule(const json::object& s, const std::string& ptr, int depth) {
    json::object base = s;
    base.erase("anyOf");
    base.erase("oneOf");
    std::vector<std::pair<json::value, std::string>> branches;
    for (const char* key : {"anyOf", "oneOf"}) {
        const json::value* list = s.if_contains(key);
        if (list == nullptr) continue;
        if (!list->is_array() || list->as_array().empty()) {
            refuse(pointer_append(ptr, key), key, std::string(key) + " must be a non-empty array");
        }
        std::vector<std::pair<json::value, std::string>> next;
        std::size_t i = 0;
        for (const json::value& b : list->as_array()) {
            const std::string bptr = pointer_append(pointer_append(ptr, key), std::to_string(i++));
            if (branches.empty()) {
                next.emplace_back(b, bptr);
            } else {
                for (const auto& [prev, pptr] : branches) next.emplace_back(merge(prev, b, bptr, depth + 1), bptr);
            }
            if (next.size() > 256) refuse(pointer_append(ptr, key), key, "anyOf x oneOf has over 256 combinations");
        }
        branches = std::move(next);
    }
    const bool trivial_base = !has_assertions(base);
    const bool exclusive = s.contains("oneOf") && !s.contains("anyOf");
    std::vector<exclusion> excl;
    if (exclusive) {
        for (const auto& [b, bptr] : branches) excl.push_back(branch_exclusion(flatten(b, bptr, depth + 1), *this, bptr, depth));
    }
    std::vector<json::value> subs;
    for (const auto& [b, bptr] : branches) {
        json::value sub = trivial_base ? b : merge(json::value(base), b, bptr, depth + 1);
        subs.push_back(exclusive ? flatten(sub, bptr, depth + 1) : sub);
    }
    if (exclusive) {
        split_one_of_kinds(subs);
        exclude_one_of_literals(subs, *this, ptr, depth);
    }
    std::vector<std::string> alts;
    for (std::size_t i = 0; i < branches.size(); ++i) {
        const std::string& bptr = branches[i].second;
        json::value sub = exclusive ? exclude_others(subs[i], excl, i) : subs[i];
        opt_rule r = value_rule(sub, bptr, depth + 1);
        if (r && std::find(alts.begin(), alts.end(), *r) == alts.end()) alts.push_back(*r);
    }
    if (alts.empty()) return std::nullopt;
    std::string body;
    for (const std::string& a : alts) body += (body.empty() ? "" : " | ") + a;
    return rules_.add("alt", body);
}

opt_rule schema_compiler::value_rule(const json::value& schema, const std::string& ptr, int depth) {
    if (depth > k_max_depth) refuse(ptr, "", "schema nested deeper than " + std::to_string(k_max_depth) + " levels");
    if (schema.is_bool()) return schema.as_bool() ? opt_rule(any_value_rule()) : std::nullopt;
    const json::object* o = schema.if_object();
    if (o == nullptr) refuse(ptr, "", "a schema must be an object or a boolean");
    const bool ref = o->contains("$ref");
    if (ref && (ignore_ref_siblings_ || !has_assertions(*o, "$ref"))) return ref_rule(schema, ptr, depth);
    if (ref || o->contains("allOf") || o->contains("anyOf") || o->contains("oneOf")) {
        // Derived schemas (merged, or a oneOf branch made exclusive) are memoised by content,
        // so a recursive definition reached through them becomes a rule reference too.
        return memoized("json:" + json::serialize(schema), "s", ptr, [&]() -> opt_rule {
            if (ref || o->contains("allOf")) return value_rule(flatten(schema, ptr, depth), ptr, depth + 1);
            return alternatives_rule(*o, ptr, depth);
        });
    }
    if (const json::value* n = o->if_contains("nullable"); n != nullptr && n->is_bool() && n->as_bool()) {
        json::object rest = *o;
        rest.erase("nullable");
        if (json::value* t = rest.if_contains("type"); t != nullptr && t->is_string()) {
            *t = json::array{*t, "null"};
        } else if (json::value* ta = rest.if_contains("type"); ta != nullptr && ta->is_array()) {
            ta->as_array().emplace_back("null");
        }
        if (json::value* e = rest.if_contains("enum"); e != nullptr && e->is_array()) e->as_array().emplace_back(nullptr);
        return compile_flat(rest, ptr, depth);
    }
    return compile_flat(*o, ptr, depth);
}

void schema_compiler::check_keywords(const json::object& s, const std::string& ptr) {
    const std::set<std::string> types = allowed_types(s, ptr);
    auto has_type = [&](const char* t) { return types.count(t) != 0; };
    for (const char* k : {"if", "dependentSchemas", "contains", "minContains", "maxContains", "$dynamicRef",
                          "$recursiveRef"}) {
        if (s.contains(k)) refuse(pointer_append(ptr, k), k, std::string("keyword \"") + k + "\" is not supported");
    }
    for (const char* k : {"unevaluatedProperties", "unevaluatedItems"}) {
        const json::value* v = s.if_contains(k);
        if (v != nullptr && !(v->is_bool() && v->as_bool())) {
            refuse(pointer_append(ptr, k), k, std::string("keyword \"") + k + "\" is not supported");
        }
    }
    if (const json::value* u = s.if_contains("uniqueItems");
        u != nullptr && u->is_bool() && u->as_bool() && has_type("array") && !opts_.allow_unenforced_unique_items) {
        refuse(pointer_append(ptr, "uniqueItems"), "uniqueItems",
               "uniqueItems cannot be enforced by a grammar (schema_options::allow_unenforced_unique_items accepts it unenforced)");
    }
    if (const json::value* m = s.if_contains("multipleOf")) {
        const bool one = m->is_number() && m->to_number<double>() == 1.0;
        if (!(one && !has_type("number") && !has_type("string") && !has_type("array") && !has_type("object") &&
              !has_type("boolean") && !has_type("null")) &&
            (has_type("number") || has_type("integer"))) {
            refuse(pointer_append(ptr, "multipleOf"), "multipleOf", "keyword \"multipleOf\" is not supported");
        }
    }
}

opt_rule schema_compiler::compile_flat(const json::object& s, const std::string& ptr, int depth) {
    check_keywords(s, ptr);
    std::set<std::string> types = allowed_types(s, ptr);
    if (const json::value* n0 = s.if_contains("not")) {
        const std::string nptr = pointer_append(ptr, "not");
        const json::value nv = flatten(*n0, nptr, depth + 1);
        if ((nv.is_bool() && nv.as_bool()) || (nv.is_object() && !has_assertions(nv.as_object()))) return std::nullopt;
        const json::object* no = nv.if_object();
        if (no != nullptr && is_negatable(*no)) {
            // Types `not` matches whole are dropped; strings it matches only in part keep
            // the complement of its string automaton (x-sluice-not-string, json_schema_string.cpp).
            const std::set<std::string> nt = allowed_types(*no, nptr);
            const bool has_enum = no->contains("enum") || no->contains("const");
            const bool string_kw = has_enum || no->contains("pattern") || no->contains("minLength") ||
                                   no->contains("maxLength") || no->contains("format") || no->contains("x-sluice-patterns");
            json::object rest = s;
            rest.erase("not");
            for (const std::string& t : nt) {
                if (has_enum || (string_kw && t == "string")) continue;
                types.erase(t);
                if (t == "number") types.erase("integer");
            }
            if (types.count("number") != 0 && nt.count("integer") != 0 && nt.count("number") == 0 && !has_enum) {
                refuse(nptr, "not", "\"not\": {\"type\": \"integer\"} on numbers is not supported");
            }
            if (string_kw && nt.count("string") != 0) rest["x-sluice-not-string"] = nv;
            json::array remaining;
            for (const std::string& t : types) remaining.emplace_back(t);
            rest["type"] = remaining;
            return compile_flat(rest, ptr, depth);
        }
        const bool required_only = no != nullptr && no->contains("required") && is_required_combo(*no);
        if (required_only) {
            // "required" holds for every non-object, so its negation admits objects only.
            for (const char* t : {"null", "boolean", "number", "integer", "string", "array"}) types.erase(t);
        }
        if (!(nv.is_bool() && !nv.as_bool()) && !required_only) {
            refuse(nptr, "not", "keyword \"not\" is only supported with type, enum, const, string keywords, required or an empty schema");
        }
    }
    if (s.contains("enum") || s.contains("const")) return literal_rule(s, ptr, depth);
    std::vector<std::string> alts;
    auto add = [&](opt_rule r) {
        if (r) alts.push_back(*r);
    };
    if (types.count("null") != 0) alts.emplace_back("\"null\"");
    if (types.count("boolean") != 0) alts.emplace_back("\"true\" | \"false\"");
    if (types.count("number") != 0) {
        add(number_rule(s, ptr, false));
    } else if (types.count("integer") != 0) {
        add(number_rule(s, ptr, true));
    }
    if (types.count("string") != 0) add(string_rule(s, ptr));
    if (types.count("array") != 0) add(array_rule(s, ptr, depth));
    if (types.count("object") != 0) add(object_rule(s, ptr, depth));
    if (alts.empty()) return std::nullopt;
    if (alts.size() == 1 && alts[0].find(' ') == std::string::npos) return alts[0];
    std::string body;
    for (const std::string& a : alts) body += (body.empty() ? "" : " | ") + a;
    return rules_.add("value", body);
}

std::string schema_compiler::compile_root() {
    const std::string root = rules_.reserve("root");
    opt_rule r = value_rule(root_, "", 0);
    if (!r) refuse("", "", "no JSON value satisfies the schema");
    rules_.define(root, opts_.compact ? *r : "ws " + *r + " ws");
    if (const std::vector<std::string> dead = rules_.unproductive(); !dead.empty()) {
        refuse("", "$ref", "recursive schema without a finite instance (grammar rule " + dead.front() + ")");
    }
    return rules_.text();
}

std::string schema_compiler::compile_json_object() {
    const std::string root = rules_.reserve("root");
    any_value_rule();
    rules_.define(root, opts_.compact ? any_object_ : "ws " + any_object_ + " ws");
    return rules_.text();
}

}  // namespace json_schema_detail

std::string compile_json_schema(const boost::json::value& schema, const schema_options& opts) {
    return json_schema_detail::schema_compiler(schema, opts).compile_root();
}

std::string json_object_grammar(const schema_options& opts) {
    return json_schema_detail::schema_compiler(boost::json::value(true), opts).compile_json_object();
}

}  // namespace sluice::grammar
