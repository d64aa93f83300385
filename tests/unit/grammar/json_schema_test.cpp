// JSON Schema -> GBNF, keyword by keyword: accepted and rejected texts through the real GBNF
// parser and matcher, every refusal (keyword and pointer), hostile schemas.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/json_schema.hpp"
#include "sluice/grammar/matcher.hpp"

namespace {

namespace json = boost::json;
using namespace sluice::grammar;

json::value parse_schema(const std::string& text) {
    json::parse_options po;
    po.max_depth = 100000;
    return json::parse(text, {}, po);
}

// Compiles `schema` and checks which texts it accepts as complete outputs.
class checker {
public:
    explicit checker(const std::string& schema, schema_options opts = {})
        : gbnf_(compile_json_schema(parse_schema(schema), opts)),
          grammar_(parse_gbnf(gbnf_)),
          vocab_(std::make_shared<token_vocabulary>(std::vector<std::string>{"{"}, std::vector<std::int32_t>{},
                                                    std::vector<std::int32_t>{})) {}
    bool operator()(const std::string& text) const {
        matcher m(grammar_, vocab_);
        return m.accept_bytes(text) && m.is_complete();
    }
    const std::string& gbnf() const { return gbnf_; }

private:
    std::string gbnf_;
    std::shared_ptr<const grammar> grammar_;
    std::shared_ptr<const token_vocabulary> vocab_;
};

schema_options pretty() { return schema_options::for_checking(); }

// The refusal's keyword and pointer, or "" when the schema compiles.
std::string refusal(const std::string& schema, schema_options opts = {}) {
    try {
        compile_json_schema(parse_schema(schema), opts);
    } catch (const schema_error& e) {
        EXPECT_EQ(e.code(), sluice::errc::invalid_argument);
        return e.keyword + "@" + e.pointer;
    }
    return "";
}

TEST(json_schema, types_and_type_arrays) {
    const checker c(R"({"type": ["integer", "null", "boolean"]})");
    EXPECT_TRUE(c("12"));
    EXPECT_TRUE(c("-3"));
    EXPECT_TRUE(c("null"));
    EXPECT_TRUE(c("false"));
    EXPECT_FALSE(c("1.5"));
    EXPECT_FALSE(c("\"x\""));
    EXPECT_FALSE(c("012"));
    const checker any(R"({})");
    for (const char* v : {"1", "\"s\"", "[1,{\"a\":null}]", "{\"k\":[]}", "true", "-0.5e+3"}) EXPECT_TRUE(any(v)) << v;
    EXPECT_FALSE(any("{\"a\":}"));
}

TEST(json_schema, strings_escapes_and_lengths_in_code_points) {
    const checker c(R"({"type": "string", "minLength": 2, "maxLength": 3})");
    EXPECT_TRUE(c(R"("ab")"));
    EXPECT_TRUE(c(R"("éé")"));          // two code points, four bytes
    EXPECT_TRUE(c(R"("a\nb")"));        // an escape counts as one
    EXPECT_TRUE(c(R"("\u00e9\"\\")"));
    EXPECT_FALSE(c(R"("a")"));
    EXPECT_FALSE(c(R"("abcd")"));
    EXPECT_FALSE(c("\"a\nb\""));        // raw control character
    EXPECT_FALSE(c(R"("a\x")"));
    const checker big(R"({"type": "string", "maxLength": 2500})");
    EXPECT_TRUE(big("\"" + std::string(2500, 'x') + "\""));
    EXPECT_FALSE(big("\"" + std::string(2501, 'x') + "\""));
}

TEST(json_schema, objects_required_optional_and_additional) {
    const std::string s = R"({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                              "required": ["a"]})";
    const checker c(s);
    EXPECT_TRUE(c(R"({"a":1})"));
    EXPECT_TRUE(c(R"({"a":1,"b":"x"})"));
    EXPECT_TRUE(c(R"({"a":1,"b":"x","extra":[1]})"));  // absent additionalProperties allows extras
    EXPECT_FALSE(c(R"({"b":"x"})"));
    EXPECT_FALSE(c(R"({"a":1,"a":2})"));                // a named key never counts as additional
    EXPECT_FALSE(c(R"({"a":"1"})"));
    EXPECT_FALSE(c(R"({"b":"x","a":1})"));              // generation: schema order
    EXPECT_TRUE(checker(s, pretty())(R"({"b": "x", "a": 1})"));
    const checker draft3(R"({"type": "object", "properties": {"a": {"type": "integer", "required": true}}})");
    EXPECT_TRUE(draft3(R"({"a":1})"));
    EXPECT_FALSE(draft3("{}"));
    const checker closed(R"({"properties": {"a": {}}, "additionalProperties": false, "type": "object"})");
    EXPECT_TRUE(closed("{}"));
    EXPECT_FALSE(closed(R"({"z":1})"));
    const checker typed(R"({"type": "object", "additionalProperties": {"type": "number"}})");
    EXPECT_TRUE(typed(R"({"x":1,"y":2.5})"));
    EXPECT_FALSE(typed(R"({"x":"1"})"));
}

TEST(json_schema, object_counts_dependencies_and_not_required) {
    const checker c(R"({"type": "object", "minProperties": 1, "maxProperties": 2})");
    EXPECT_FALSE(c("{}"));
    EXPECT_TRUE(c(R"({"a":1,"b":2})"));
    EXPECT_FALSE(c(R"({"a":1,"b":2,"c":3})"));
    const checker d(R"({"type": "object", "properties": {"a": {}, "b": {}}, "dependentRequired": {"a": ["b"]}})", pretty());
    EXPECT_TRUE(d(R"({"b":1})"));
    EXPECT_TRUE(d(R"({"b":1,"a":2})"));
    EXPECT_FALSE(d(R"({"a":2})"));
    const checker n(R"({"type": "object", "not": {"required": ["x", "y"]}})");
    EXPECT_TRUE(n(R"({"x":1})"));
    EXPECT_FALSE(n(R"({"x":1,"y":2})"));
}

TEST(json_schema, pattern_and_property_names) {
    const checker p(R"({"patternProperties": {"^x-": {"type": "integer"}, "^x-a": {"minimum": 5}},
                       "additionalProperties": {"type": "string"}, "type": "object"})");
    EXPECT_TRUE(p(R"({"x-b":1,"y":"s"})"));
    EXPECT_FALSE(p(R"({"x-b":"1"})"));
    EXPECT_FALSE(p(R"({"y":1})"));
    EXPECT_TRUE(p(R"({"x-a":7})"));
    EXPECT_FALSE(p(R"({"x-a":3})"));  // matches both patterns: both schemas apply
    const checker n(R"({"type": "object", "propertyNames": {"pattern": "^[a-z]+$", "maxLength": 3}})");
    EXPECT_TRUE(n(R"({"abc":1})"));
    EXPECT_FALSE(n(R"({"abcd":1})"));
    EXPECT_FALSE(n(R"({"A":1})"));
}

TEST(json_schema, enum_and_const_filtered_by_the_rest) {
    const checker e(R"({"type": "string", "enum": ["a", 1, "b\"c", null]})");
    EXPECT_TRUE(e(R"("a")"));
    EXPECT_TRUE(e(R"("b\"c")"));
    EXPECT_FALSE(e("1"));  // not a string
    EXPECT_FALSE(e("null"));
    const checker u(R"({"enum": ["caf\u00e9 \u65e5\u672c", "\ud83d\ude00"]})");
    EXPECT_TRUE(u(R"("café 日本")"));
    EXPECT_TRUE(u(R"("caf\u00e9 \u65E5\u672c")"));  // ensure_ascii spelling, either case
    EXPECT_TRUE(u(R"("\ud83d\ude00")"));
    EXPECT_TRUE(u("\"\xF0\x9F\x98\x80\""));
    EXPECT_FALSE(u(R"("caf\u00e8 日本")"));
    const checker cls(R"({"type": "string", "pattern": "^[\u00e0-\u00ff\u0400-\u04ff]+$"})");
    EXPECT_TRUE(cls(R"("\u00e0\u04FF")"));
    EXPECT_TRUE(cls(R"("àя")"));
    EXPECT_FALSE(cls(R"("\u00df")"));
    EXPECT_FALSE(cls(R"("\u0500")"));
    const checker k(R"({"const": {"a": [1, 2.5, true]}})", pretty());
    EXPECT_TRUE(k(R"({"a":[1,2.5,true]})"));
    EXPECT_TRUE(k("{\n  \"a\": [\n    1,\n    2.5,\n    true\n  ]\n}"));
    EXPECT_FALSE(k(R"({"a":[1,2.5]})"));
    const checker f(R"({"enum": [1.0]})");
    EXPECT_TRUE(f("1"));
    EXPECT_TRUE(f("1.0"));
    EXPECT_EQ(refusal(R"({"enum": []})"), "@");
}

TEST(json_schema, any_one_all_of_and_properties_beside_them) {
    const checker one(R"({"type": "object", "properties": {"k": {"type": "string"}},
                         "oneOf": [{"required": ["a"]}, {"required": ["b"]}]})");
    EXPECT_TRUE(one(R"({"k":"x","a":1})"));
    EXPECT_TRUE(one(R"({"b":1})"));
    EXPECT_FALSE(one(R"({"a":1,"b":2})"));  // both branches: oneOf fails
    EXPECT_FALSE(one(R"({"k":1,"a":1})"));   // outer properties apply inside every branch
    const checker kinds(R"({"oneOf": [{"type": "number"}, {"type": "integer"}, {"type": ["string", "null"]}, {"type": "null"}]})");
    EXPECT_TRUE(kinds("1.5"));
    EXPECT_FALSE(kinds("2"));     // an integer is a number too: both branches match
    EXPECT_TRUE(kinds(R"("s")"));
    EXPECT_FALSE(kinds("null"));  // two branches accept null whole
    const checker lits(R"({"oneOf": [{"type": "string", "maxLength": 2}, {"enum": ["a", "abc", 7]}]})");
    EXPECT_TRUE(lits(R"("xy")"));
    EXPECT_TRUE(lits(R"("abc")"));
    EXPECT_TRUE(lits("7"));
    EXPECT_FALSE(lits(R"("a")"));  // listed, and a short string: both branches
    const checker all(R"({"allOf": [{"properties": {"a": {"type": "integer"}}, "additionalProperties": false},
                                    {"properties": {"b": {}}, "required": ["a"]}], "type": "object"})");
    EXPECT_TRUE(all(R"({"a":1})"));
    EXPECT_FALSE(all(R"({"a":1,"b":2})"));  // b is additional for the first branch
    const checker any(R"({"anyOf": [{"type": "integer", "minimum": 10}, {"type": "string"}]})");
    EXPECT_TRUE(any("12"));
    EXPECT_TRUE(any(R"("s")"));
    EXPECT_FALSE(any("9"));
    EXPECT_EQ(refusal(R"({"allOf": [{"type": "string"}, {"type": "integer"}]})"), "@");  // unsatisfiable
}

TEST(json_schema, refs_local_escaped_recursive_and_cyclic) {
    const checker tree(R"({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
                          "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"],
                          "additionalProperties": false}}, "$ref": "#/$defs/node"})");
    EXPECT_TRUE(tree(R"({"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]})"));
    EXPECT_FALSE(tree(R"({"v":1,"kids":[{"kids":[]}]})"));
    const checker esc(R"({"definitions": {"a/b": {"type": "integer"}, "c~d": {"type": "string"}, "e f": {"type": "null"}},
                         "type": "array", "prefixItems": [{"$ref": "#/definitions/a~1b"}, {"$ref": "#/definitions/c~0d"},
                         {"$ref": "#/definitions/e%20f"}]})");
    EXPECT_TRUE(esc(R"([1,"x",null])"));
    EXPECT_FALSE(esc(R"(["x"])"));
    EXPECT_EQ(refusal(R"({"$ref": "#"})"), "@");
    EXPECT_EQ(refusal(R"({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})"), "@");
    const checker left(R"({"anyOf": [{"$ref": "#"}, {"type": "null"}]})");
    EXPECT_TRUE(left("null"));
    EXPECT_FALSE(left("1"));
    EXPECT_EQ(refusal(R"({"$ref": "other.json#/a"})"), "$ref@/$ref");
    EXPECT_EQ(refusal(R"({"$ref": "#/nowhere"})"), "$ref@/$ref");
    // A recursive structure with no finite instance.
    EXPECT_EQ(refusal(R"({"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]})"), "$ref@");
    EXPECT_EQ(refusal(R"({"type": "object", "properties": {"a": {"$ref": "#"}}})"), "");
}

TEST(json_schema, arrays_prefix_items_and_counts) {
    const checker c(R"({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                       "items": {"type": "boolean"}, "minItems": 1, "maxItems": 3})");
    EXPECT_TRUE(c(R"(["a"])"));
    EXPECT_TRUE(c(R"(["a",1,true])"));
    EXPECT_FALSE(c("[]"));
    EXPECT_FALSE(c(R"(["a",1,true,false])"));
    EXPECT_FALSE(c(R"([1])"));
    const checker old(R"({"type": "array", "items": [{"type": "integer"}], "additionalItems": false})");
    EXPECT_TRUE(old("[1]"));
    EXPECT_TRUE(old("[]"));
    EXPECT_FALSE(old("[1,2]"));
    EXPECT_EQ(refusal(R"({"type": "array", "minItems": 3, "maxItems": 2})"), "@");
}

TEST(json_schema, integer_ranges_exact) {
    const checker c(R"({"type": "integer", "minimum": -12, "maximum": 105})");
    for (int v = -30; v <= 130; ++v) EXPECT_EQ(c(std::to_string(v)), v >= -12 && v <= 105) << v;
    EXPECT_TRUE(c("-0"));  // zero
    const checker x(R"({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 1000000000000})");
    EXPECT_TRUE(x("1"));
    EXPECT_TRUE(x("999999999999"));
    EXPECT_FALSE(x("0"));
    EXPECT_FALSE(x("1000000000000"));
    const checker d4(R"({"type": "integer", "minimum": 5, "exclusiveMinimum": true})");
    EXPECT_FALSE(d4("5"));
    EXPECT_TRUE(d4("6"));
    EXPECT_TRUE(checker(R"({"type": "integer", "minimum": 2.5})")("3"));
    EXPECT_FALSE(checker(R"({"type": "integer", "minimum": 2.5})")("2"));
}

TEST(json_schema, number_ranges_exact_without_exponent) {
    const checker c(R"({"type": "number", "minimum": 0.3, "exclusiveMaximum": 100})");
    for (const char* ok : {"0.3", "0.30", "0.31", "1", "99.999", "12.5"}) EXPECT_TRUE(c(ok)) << ok;
    for (const char* bad : {"0.29999", "0.2", "0", "-1", "100", "100.0", "100.001", "1e1"}) EXPECT_FALSE(c(bad)) << bad;
    const checker neg(R"({"type": "number", "minimum": -1.5, "maximum": -0.25})");
    for (const char* ok : {"-1.5", "-1", "-0.25", "-0.3", "-1.49"}) EXPECT_TRUE(neg(ok)) << ok;
    for (const char* bad : {"-1.51", "-0.2", "0", "1"}) EXPECT_FALSE(neg(bad)) << bad;
    const checker nonneg(R"({"type": "number", "minimum": 0})");
    for (const char* ok : {"0", "0.0", "1e-05", "2.5E+3", "7"}) EXPECT_TRUE(nonneg(ok)) << ok;
    for (const char* bad : {"-1", "-1e-05", "-0.5"}) EXPECT_FALSE(nonneg(bad)) << bad;
    const checker pos(R"({"type": "number", "exclusiveMinimum": 0})");
    for (const char* ok : {"1e-07", "0.001", "3"}) EXPECT_TRUE(pos(ok)) << ok;
    for (const char* bad : {"0", "0.0", "0e5", "-2"}) EXPECT_FALSE(pos(bad)) << bad;
    const checker above(R"({"type": "number", "minimum": -1})");
    for (const char* ok : {"1e-07", "2E+30", "-1", "-0.5"}) EXPECT_TRUE(above(ok)) << ok;
    for (const char* bad : {"-1.5", "-1e-07"}) EXPECT_FALSE(above(bad)) << bad;  // -1e-07 >= -1, but bounded sides have no exponent
    const checker free(R"({"type": "number"})");
    EXPECT_TRUE(free("1e-05"));
    EXPECT_EQ(refusal(R"({"type": "number", "multipleOf": 0.5})"), "multipleOf@/multipleOf");
    EXPECT_EQ(refusal(R"({"type": "integer", "multipleOf": 1})"), "");
    EXPECT_EQ(refusal(R"({"type": "integer", "minimum": 5, "maximum": 4})"), "@");
}

TEST(json_schema, patterns_unanchored_and_anchored) {
    const checker u(R"({"type": "string", "pattern": "a[0-9]{2}"})");
    EXPECT_TRUE(u(R"("xxa12yy")"));
    EXPECT_FALSE(u(R"("a1")"));
    const checker a(R"({"type": "string", "pattern": "^(?:[A-Z]\\w*|\\d+)$"})");
    EXPECT_TRUE(a(R"("Hello_1")"));
    EXPECT_TRUE(a(R"("123")"));
    EXPECT_FALSE(a(R"("hello")"));
    EXPECT_FALSE(a(R"("12a")"));
    const checker q(R"({"type": "string", "pattern": "^[^\"\\\\]+$"})");
    EXPECT_TRUE(q(R"("a/b")"));
    EXPECT_TRUE(q(R"("a\/b")"));
    EXPECT_FALSE(q(R"("a\"b")"));
    EXPECT_TRUE(checker(R"({"type": "string", "pattern": "^(?P<y>\\d{4})$"})")(R"("2024")"));
    const checker look(R"({"type": "string", "pattern": "^(?!org\\.)[a-z.]+$"})");
    EXPECT_TRUE(look(R"("com.x")"));
    EXPECT_FALSE(look(R"("org.x")"));
    const checker both(R"({"type": "string", "pattern": "^a", "maxLength": 3, "minLength": 2})");
    EXPECT_TRUE(both(R"("ab")"));
    EXPECT_FALSE(both(R"("abcd")"));
    EXPECT_FALSE(both(R"("ba")"));
    EXPECT_EQ(refusal(R"({"type": "string", "pattern": "(a)\\1"})"), "pattern@/pattern");
    EXPECT_EQ(refusal(R"({"type": "string", "pattern": "(?<=a)b"})"), "pattern@/pattern");
    EXPECT_EQ(refusal(R"({"type": "string", "pattern": "[b-a]"})"), "pattern@/pattern");
    EXPECT_EQ(refusal(R"({"properties": {"p": {"type": "string", "pattern": "\\bx"}}})"), "pattern@/properties/p/pattern");
}

TEST(json_schema, formats) {
    const checker d(R"({"type": "string", "format": "date"})");
    EXPECT_TRUE(d(R"("2024-02-29")"));
    EXPECT_FALSE(d(R"("2024-02-30")"));
    EXPECT_FALSE(d(R"("2024-13-01")"));
    const checker dt(R"({"type": "string", "format": "date-time"})");
    EXPECT_TRUE(dt(R"("2022-01-01T12:00:00Z")"));
    EXPECT_TRUE(dt(R"("2022-01-01T12:00:00.5+02:00")"));
    EXPECT_FALSE(dt(R"("2022-01-01 12:00:00")"));
    const checker id(R"({"type": "string", "format": "uuid"})");
    EXPECT_TRUE(id(R"("123e4567-e89b-12d3-a456-426614174000")"));
    EXPECT_FALSE(id(R"("123e4567")"));
    const checker em(R"({"type": "string", "format": "email"})");
    EXPECT_TRUE(em(R"("a.b@example.com")"));
    EXPECT_FALSE(em(R"("john doe")"));
    const checker ip(R"({"type": "string", "format": "ipv4"})");
    EXPECT_TRUE(ip(R"("192.168.0.255")"));
    EXPECT_FALSE(ip(R"("256.1.1.1")"));
    const checker v6(R"({"type": "string", "format": "ipv6"})");
    for (const char* ok : {R"("::1")", R"("2001:db8::8a2e:370:7334")", R"("fe80:0:0:0:0:0:0:1")", R"("::ffff:10.0.0.1")"}) {
        EXPECT_TRUE(v6(ok)) << ok;
    }
    for (const char* bad : {R"("1::2::3")", R"("12345::")", R"("::ffff:999.0.0.1")", R"("1:2:3:4:5:6:7:8:9")"}) {
        EXPECT_FALSE(v6(bad)) << bad;
    }
    EXPECT_TRUE(checker(R"({"type": "string", "format": "x-unknown"})")(R"("anything")"));
}

TEST(json_schema, nullable_not_and_boolean_schemas) {
    const checker n(R"({"type": "string", "nullable": true})");
    EXPECT_TRUE(n("null"));
    EXPECT_TRUE(n(R"("s")"));
    const checker t(R"({"not": {"type": ["string", "null"]}})");
    EXPECT_TRUE(t("1"));
    EXPECT_FALSE(t(R"("s")"));
    const checker ne(R"({"type": "string", "not": {"enum": ["a", "b"]}})");
    EXPECT_TRUE(ne(R"("c")"));
    EXPECT_FALSE(ne(R"("a")"));
    EXPECT_TRUE(checker("true")("[1]"));
    EXPECT_EQ(refusal("false"), "@");
    EXPECT_EQ(refusal(R"({"not": {}})"), "@");
    const checker f(R"({"type": "object", "properties": {"a": false}})");
    EXPECT_TRUE(f("{}"));
    EXPECT_FALSE(f(R"({"a":1})"));
    EXPECT_EQ(refusal(R"({"type": "object", "properties": {"a": false}, "required": ["a"]})"), "@");
}

TEST(json_schema, refusals_name_keyword_and_pointer) {
    EXPECT_EQ(refusal(R"({"properties": {"a": {"if": {}, "then": {}}}})"), "if@/properties/a/if");
    EXPECT_EQ(refusal(R"({"type": "array", "contains": {"type": "integer"}})"), "contains@/contains");
    EXPECT_EQ(refusal(R"({"unevaluatedProperties": false})"), "unevaluatedProperties@/unevaluatedProperties");
    EXPECT_EQ(refusal(R"({"type": "object", "dependentSchemas": {"a": {}}})"), "dependentSchemas@/dependentSchemas");
    EXPECT_EQ(refusal(R"({"type": "object", "dependencies": {"a": {"required": ["b"]}}})"), "dependencies@/dependencies/a");
    EXPECT_EQ(refusal(R"({"not": {"type": "object", "properties": {"a": {"type": "string"}}}})"), "not@/not");
    EXPECT_EQ(refusal(R"({"type": "foo"})"), "type@/type");
    EXPECT_EQ(refusal(R"({"type": "array", "uniqueItems": true})"), "uniqueItems@/uniqueItems");
    schema_options lenient;
    lenient.allow_unenforced_unique_items = true;
    EXPECT_EQ(refusal(R"({"type": "array", "uniqueItems": true})", lenient), "");
    EXPECT_EQ(refusal(R"({"type": "string", "uniqueItems": true})"), "");  // not an array: irrelevant
    // Annotations and unknown keywords are ignored.
    EXPECT_EQ(refusal(R"({"title": "t", "description": "d", "examples": [1], "$schema": "x", "$id": "y",
                          "$comment": "c", "default": 1, "deprecated": true, "readOnly": true, "x-extra": {}})"), "");
}

TEST(json_schema, whitespace_policy) {
    const std::string s = R"({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}})";
    const checker compact(s);
    EXPECT_TRUE(compact(R"({"a":[1,2]})"));
    EXPECT_FALSE(compact(R"({"a": [1, 2]})"));
    const checker loose(s, pretty());
    EXPECT_TRUE(loose(R"({"a":[1,2]})"));
    EXPECT_TRUE(loose("{\n  \"a\": [\n    1,\n    2\n  ]\n}"));
    EXPECT_TRUE(loose("{\r\n\t\"a\" : [ 1 , 2 ] }\n"));
    EXPECT_TRUE(loose("{\n" + std::string(40, ' ') + "\"a\": []}"));
    EXPECT_FALSE(loose("{\n" + std::string(41, ' ') + "\"a\": []}"));
    EXPECT_FALSE(loose("{\n\n\"a\": []}"));  // one newline per gap
}

TEST(json_schema, json_object_grammar_accepts_objects_only) {
    const std::shared_ptr<const grammar> g = parse_gbnf(json_object_grammar());
    const auto v = std::make_shared<token_vocabulary>(std::vector<std::string>{"{"}, std::vector<std::int32_t>{},
                                                      std::vector<std::int32_t>{});
    auto ok = [&](const std::string& t) {
        matcher m(g, v);
        return m.accept_bytes(t) && m.is_complete();
    };
    EXPECT_TRUE(ok(R"({"a":{"b":[1,"x",null]}})"));
    EXPECT_TRUE(ok("{}"));
    EXPECT_FALSE(ok("[]"));
    EXPECT_FALSE(ok("1"));
}

TEST(json_schema, hostile_schemas_fail_cleanly) {
    std::string deep;
    for (int i = 0; i < 5000; ++i) deep += R"({"type": "array", "items": )";
    deep += "{}";
    for (int i = 0; i < 5000; ++i) deep += "}";
    EXPECT_EQ(refusal(deep), "@" + [] {
        std::string p;
        for (int i = 0; i < 129; ++i) p += "/items";
        return p;
    }());
    std::string big_enum = R"({"enum": [)";
    for (int i = 0; i < 5000; ++i) big_enum += (i ? "," : "") + std::to_string(i);
    EXPECT_EQ(refusal(big_enum + "]}"), "enum@/enum");
    EXPECT_EQ(refusal(R"({"type": "string", "pattern": "((a{1000}){1000}){1000}"})"), "pattern@/pattern");
    EXPECT_EQ(refusal(R"({"type": "string", "pattern": "(a|b)*a(a|b){30}"})"), "pattern@/pattern");  // DFA blow-up
    EXPECT_EQ(refusal(R"({"type": "string", "pattern": "a)" + std::string(100000, '*') + R"("})"), "pattern@/pattern");
    EXPECT_EQ(refusal(R"({"type": "string", "pattern": ")" + std::string(100000, '(') + R"("})"), "pattern@/pattern");
    std::string many_any = R"({"allOf": [)";
    for (int i = 0; i < 6; ++i) {
        many_any += std::string(i ? "," : "") + R"({"anyOf": [{"type": "integer"}, {"type": "number"}, {"minimum": )" +
                    std::to_string(i) + "}]}";
    }
    EXPECT_NE(refusal(many_any + "]}"), "");  // 3^6 combinations: over the bound
    EXPECT_EQ(refusal(R"({"type": "string", "maxLength": 1000000000})"), "");
    // 1500 properties: linear work (the productivity check once took quadratic time). In
    // schema order every optional property is a possible next one, so the matcher holds one
    // stack per property: past its bound of 2048 stacks such an object is "too ambiguous".
    std::string wide = R"({"type": "object", "properties": {)";
    for (int i = 0; i < 1500; ++i) wide += std::string(i ? "," : "") + "\"property_" + std::to_string(i) + R"(": {"type": "integer"})";
    EXPECT_TRUE(checker(wide + "}}")(R"({"property_7":1,"zz":2})"));
    // A DAG of allOf references doubling at each of 40 levels: linear, not 2^40.
    std::string dag = R"({"$defs": {)";
    for (int i = 0; i < 40; ++i) {
        const std::string next = "#/$defs/d" + std::to_string(i + 1);
        dag += "\"d" + std::to_string(i) + R"(": {"allOf": [{"$ref": ")" + next + R"("}, {"$ref": ")" + next + R"("}]},)";
    }
    dag += R"("d40": {"type": "string"}}, "$ref": "#/$defs/d0"})";
    EXPECT_TRUE(checker(dag)(R"("x")"));
}

}  // namespace
