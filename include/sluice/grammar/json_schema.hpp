// JSON Schema -> GBNF (the llama.cpp dialect, root rule "root"). The grammar accepts exactly
// the JSON texts that are valid against the schema, for the keywords sluice enforces; a
// keyword it cannot enforce is refused with schema_error (naming keyword and JSON pointer),
// never silently dropped. docs/structured-output.md lists keywords, refusals, the whitespace
// policy and what is approximated. Pure functions: safe to call from any thread.
#pragma once

#include <boost/json/value.hpp>

#include <string>

#include "sluice/util/error.hpp"

namespace sluice::grammar {

struct schema_options {
    // true: no whitespace at all between JSON tokens (what generation uses by default).
    // false: optional bounded whitespace between tokens and around the value: each gap is
    // either a run of up to max_whitespace spaces/tabs, or one newline ("\n" or "\r\n")
    // followed by up to max_whitespace spaces/tabs. With the default 40 this accepts
    // json.dumps(indent=2) output nested up to 20 levels, and a model cannot loop on spaces.
    bool compact = true;
    int max_whitespace = 40;
    // false: properties appear in schema order (each optional one may be skipped), then
    // additional ones. true: named properties in any order, required ones present; each at
    // most once when the object has at most any_order_max_properties (<= 10) named properties,
    // else only the required ones are tracked and optional ones may repeat (objects with over
    // 10 required properties keep schema order). Meant for checking existing JSON (`--check`),
    // not for steering a model.
    bool any_property_order = false;
    int any_order_max_properties = 8;
    // "uniqueItems": true cannot be expressed by a context-free grammar. false: refused
    // (schema_error), so output is always valid; true: accepted and NOT enforced (arrays may
    // repeat an item), as llguidance does. Documented in docs/structured-output.md.
    bool allow_unenforced_unique_items = false;
    // Prefixed to every rule name, so that several schemas can be embedded in one grammar
    // (tool calls: one arguments schema per tool); the start rule is then <prefix>root.
    // Letters, digits and '-' only; needs compact (the whitespace rule is not prefixed).
    std::string rule_prefix;

    // The profile for checking existing JSON text: whitespace and any property order.
    static schema_options for_checking() {
        schema_options o;
        o.compact = false;
        o.any_property_order = true;
        return o;
    }
};

// A schema sluice refuses: a keyword it cannot enforce, an unsatisfiable schema, or one over
// the size/depth limits. code() is errc::invalid_argument; maps to HTTP 400.
class schema_error : public sluice::error {
public:
    schema_error(std::string pointer_, std::string keyword_, const std::string& message);

    std::string pointer;  // JSON pointer of the offending keyword, e.g. "/properties/a/pattern"
    std::string keyword;  // the keyword, e.g. "pattern"; "" when the whole schema is at fault
};

// Returns GBNF text whose start rule is "root". Throws schema_error (see above).
// Bounds: subschema nesting 128, $ref expansion and allOf merging bounded, DFA states per
// pattern 4096, output 4 MiB; exceeding one is a schema_error, never a crash.
std::string compile_json_schema(const boost::json::value& schema, const schema_options& opts = {});

// Grammar for any JSON object (response_format {"type":"json_object"}), same whitespace policy.
std::string json_object_grammar(const schema_options& opts = {});

}  // namespace sluice::grammar
