// The JSON Schema compiler's state (private to src/grammar/json_schema*.cpp). One compiler
// per call of compile_json_schema; value_rule() turns a subschema into a GBNF rule name, or
// nullopt when no JSON value satisfies it (an `anyOf` branch or optional property that can
// never match is dropped; a required one makes its parent unsatisfiable).
#pragma once

#include <boost/json.hpp>

#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "grammar/json_schema_rules.hpp"
#include "grammar/regex_automaton.hpp"
#include "sluice/grammar/json_schema.hpp"

namespace sluice::grammar::json_schema_detail {

namespace json = boost::json;

using opt_rule = std::optional<std::string>;

inline constexpr int k_max_depth = 128;
inline constexpr std::size_t k_max_dfa_states = 4096;
inline constexpr std::size_t k_max_grammar_bytes = 4u << 20;
inline constexpr std::size_t k_max_enum_values = 4096;
inline constexpr std::size_t k_max_work = 200000;

// "/a~1b" for key "a/b" (RFC 6901).
std::string pointer_append(const std::string& ptr, std::string_view key);
[[noreturn]] void refuse(const std::string& ptr, std::string_view keyword, const std::string& why);

// Keywords that constrain a value; everything else is an annotation or unknown (ignored).
bool is_assertion(std::string_view keyword);

bool has_assertions(const json::object& o, std::string_view except = {});

// What makes an instance match a oneOf branch, when that is simple enough to negate in the
// other branches: all of `required` present (combo), the one required key present with a
// value matching the negatable schema `type` (type), or - stricter - the required keys alone
// (required_only). none: the branch cannot be negated (oneOf acts as anyOf against it).
struct exclusion {
    enum class kind { none, combo, type, required_only } k = kind::none;
    json::array required;
    json::value type;
};

class schema_compiler;
// How to exclude oneOf branch `b` from the others (json_schema_one_of.cpp).
exclusion branch_exclusion(const json::value& b, schema_compiler& c, const std::string& ptr, int depth);
// Branch `self` of a oneOf, narrowed so that no instance also matches a negatable other branch.
json::value exclude_others(json::value sub, const std::vector<exclusion>& excl, std::size_t self);

// oneOf branches (flattened, merged with their base) with the JSON types that make them
// overlap removed: a type two branches accept whole is valid in neither; a type one branch
// accepts whole is dropped from the branches that narrow it. x-sluice-nonint marks "number
// but not integer" (json_schema_number.cpp).
void split_one_of_kinds(std::vector<json::value>& subs);
// oneOf branches listing values (enum/const): a value another branch also accepts is valid in
// neither; dropped here, and as a string excluded from the other branch (x-sluice-not-string).
void exclude_one_of_literals(std::vector<json::value>& subs, schema_compiler& c, const std::string& ptr, int depth);

// A schema `not` can negate exactly: only type, string enum/const and string keywords.
bool is_negatable(const json::object& not_schema);

// A `not` subschema of the form {"required": [...]} (with only empty "properties" schemas
// beside it): "not all of these keys". json_schema_object.cpp enforces it.
bool is_required_combo(const json::object& not_schema);

// x{min,max} (max < 0: unbounded) that stays exact for large bounds without asking the GBNF
// parser for more than 1000 repetitions: blocks of 1000 plus a remainder.
std::string bounded_repeat(rule_set& rules, const std::string& x, long long min, long long max);

// JSON equality as JSON Schema defines it (1 == 1.0; object key order irrelevant).
bool json_equal(const json::value& a, const json::value& b);
// Python's repr() of a double as json.dumps writes it (shortest round trip, "1.0", "1e+20").
std::string python_float(double d);

class schema_compiler {
public:
    schema_compiler(const json::value& root, const schema_options& opts);

    std::string compile_root();
    std::string compile_json_object();

    // A rule for the values valid against `schema` (at JSON pointer `ptr`).
    opt_rule value_rule(const json::value& schema, const std::string& ptr, int depth);

    // " ws " between tokens, or " " in compact mode (so bodies read the same).
    std::string ws() const { return opts_.compact ? " " : " ws "; }
    std::string any_value_rule();
    std::string any_string_rule();
    std::string any_number_rule();
    rule_set& rules() { return rules_; }
    const schema_options& options() const { return opts_; }

    // Resolves a local "$ref"; sets target_ptr to the JSON pointer it names.
    const json::value& resolve_ref(const json::value& ref, const std::string& ptr, std::string& target_ptr);
    // The DFA of a `pattern` (cached by text).
    const dfa& pattern_dfa(const std::string& pattern, const std::string& ptr);
    // The DFA of a `format`, or nullptr for formats that are annotations only.
    const dfa* format_dfa(const std::string& format, const std::string& ptr);

    // A schema with every "allOf" merged in and "$ref" inlined at its top level (siblings of
    // $ref too, unless the draft says to ignore them). json_schema_merge.cpp.
    json::value flatten(const json::value& schema, const std::string& ptr, int depth);
    // Both schemas at once (allOf of two). json_schema_merge.cpp.
    json::value merge(const json::value& a, const json::value& b, const std::string& ptr, int depth);

    // The pieces of a flat schema of one type (json_schema_object.cpp, _array.cpp, _scalar.cpp).
    opt_rule object_rule(const json::object& s, const std::string& ptr, int depth);
    opt_rule array_rule(const json::object& s, const std::string& ptr, int depth);
    opt_rule string_rule(const json::object& s, const std::string& ptr);
    opt_rule number_rule(const json::object& s, const std::string& ptr, bool integer);
    // The string values allowed by string keywords, as a DFA (nullopt: any string).
    std::optional<dfa> string_dfa(const json::object& s, const std::string& ptr);
    // `enum`/`const` values that also satisfy the rest of the schema (json_schema_literal.cpp).
    opt_rule literal_rule(const json::object& s, const std::string& ptr, int depth);
    // A rule for exactly this JSON value (any key order is not accepted: schema order).
    std::string literal_value(const json::value& v);
    // Whether an instance satisfies `schema` (for enum/const filtering; json_schema_literal.cpp).
    bool instance_valid(const json::value& instance, const json::value& schema, const std::string& ptr, int depth);

    bool ignore_ref_siblings() const { return ignore_ref_siblings_; }
    // Counts one unit of expansion work (flatten, merge, validating an enum value); refuses
    // the schema past k_max_work, so a DAG of allOf references cannot take exponential time.
    void charge(const std::string& ptr);

private:
    opt_rule compile_flat(const json::object& s, const std::string& ptr, int depth);
    opt_rule ref_rule(const json::value& schema, const std::string& ptr, int depth);
    // The rule for `key`, computed once; a recursive use while computing it refers to the
    // rule by name, a left-recursive one (no input consumed since) contributes nothing.
    template <typename Compute>
    opt_rule memoized(const std::string& key, const std::string& hint, const std::string& ptr, Compute compute);
    opt_rule alternatives_rule(const json::object& s, const std::string& ptr, int depth);
    void check_keywords(const json::object& s, const std::string& ptr);

    const json::value& root_;
    schema_options opts_;
    rule_set rules_;
    bool ignore_ref_siblings_ = false;
    std::map<std::string, opt_rule> ref_done_;        // target pointer -> rule
    std::map<std::string, std::string> ref_pending_;  // target pointer -> reserved name
    std::set<std::string> pending_used_;              // pending refs referred to recursively
    std::vector<std::string> head_refs_;              // refs entered since the last '{' or '['
    std::map<std::string, dfa> pattern_cache_;
    std::map<std::string, json::value> flat_cache_;   // $ref target pointer -> flattened
    std::size_t work_ = 0;
    std::map<std::string, dfa> format_cache_;
    std::string any_value_;
    std::string any_object_;
    std::map<std::string, opt_rule> scalar_cache_;    // string/number rules by constraint key
    std::string any_string_;
    std::string any_number_;

    friend class head_scope;
};

// Clears the "refs entered without consuming input" chain while compiling the inside of an
// object or array: a $ref cycle through a container is fine recursion, one without is not.
class head_scope {
public:
    explicit head_scope(schema_compiler& c) : c_(c), saved_(std::move(c.head_refs_)) { c.head_refs_.clear(); }
    ~head_scope() { c_.head_refs_ = std::move(saved_); }
    head_scope(const head_scope&) = delete;
    head_scope& operator=(const head_scope&) = delete;

private:
    schema_compiler& c_;
    std::vector<std::string> saved_;
};

}  // namespace sluice::grammar::json_schema_detail
