// Tool-call grammars per family (see tool_grammar.hpp). Each tool's arguments schema is
// compiled to GBNF with its own rule prefix (t0-, t1-, ...) and embedded in the family's
// call syntax, written exactly as the family's parser reads it.
#include "sluice/tools/tool_grammar.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>

#include "sluice/grammar/json_schema.hpp"

namespace sluice::tools {
namespace {

namespace json = boost::json;

// A GBNF string literal for `text` (UTF-8 passes through; quotes, backslashes and control
// bytes are escaped).
std::string lit(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out = "\"";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c == 0x7F) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

// A GBNF character class of the bytes in `chars` (ASCII, the stop text's characters).
std::string cls_char(char c) {
    if (c == ']' || c == '\\' || c == '^' || c == '-' || c == '[') return std::string("\\") + c;
    if (c == '\n') return "\\n";
    return std::string(1, c);
}

class rules {
public:
    void add(const std::string& name, const std::string& body) { text_ += name + " ::= " + body + "\n"; }
    void raw(const std::string& gbnf) { text_ += gbnf; }
    const std::string& text() const { return text_; }

    // `name` matches any text that does not contain `stop` (ASCII) and ends anywhere: a
    // KMP automaton over stop's prefixes, one right-linear rule per matched-prefix length.
    void not_containing(const std::string& name, std::string_view stop) {
        const std::size_t n = stop.size();
        std::vector<std::size_t> fail(n + 1, 0);
        for (std::size_t i = 1, k = 0; i < n; ++i) {
            while (k > 0 && stop[i] != stop[k]) k = fail[k];
            if (stop[i] == stop[k]) ++k;
            fail[i + 1] = k;
        }
        std::string distinct;
        for (const char c : stop) {
            if (distinct.find(c) == std::string::npos) distinct += c;
        }
        std::string others = "[^";
        for (const char c : distinct) others += cls_char(c);
        others += "]";
        for (std::size_t k = 0; k < n; ++k) {
            std::string body = "( " + others + " " + name + "-0";
            for (const char c : distinct) {
                std::size_t j = k;
                while (j > 0 && stop[j] != c) j = fail[j];
                if (stop[j] == c) ++j;
                if (j == n) continue;  // would complete the stop text
                body += " | " + lit(std::string_view(&c, 1)) + " " + name + "-" + std::to_string(j);
            }
            add(name + "-" + std::to_string(k), body + " )?");
        }
        add(name, name + "-0");
    }

private:
    std::string text_;
};

const json::value& parameters_of(const tool_def& t) {
    static const json::value any_object = json::parse(R"({"type":"object"})");
    return t.parameters.is_object() ? t.parameters : any_object;
}

// Objects that list their properties and say nothing about others get
// "additionalProperties": false, as OpenAI's strict mode requires: a model calling a tool
// writes the parameters it was shown, not invented ones (the arguments still validate
// against the schema as given). Follows properties, items, anyOf and oneOf (not allOf,
// whose branches describe one object together).
json::value closed_objects(const json::value& schema, int depth = 0) {
    if (depth > 64 || !schema.is_object()) return schema;
    json::object o = schema.as_object();
    if (o.contains("properties") && !o.contains("additionalProperties") && !o.contains("patternProperties") &&
        !o.contains("unevaluatedProperties")) {
        o["additionalProperties"] = false;
    }
    if (auto* p = o.if_contains("properties"); p != nullptr && p->is_object()) {
        for (auto& kv : p->as_object()) kv.value() = closed_objects(kv.value(), depth + 1);
    }
    if (auto* i = o.if_contains("items")) *i = closed_objects(*i, depth + 1);
    for (const char* k : {"anyOf", "oneOf"}) {
        if (auto* a = o.if_contains(k); a != nullptr && a->is_array()) {
            for (auto& x : a->as_array()) x = closed_objects(x, depth + 1);
        }
    }
    return o;
}

// Rule "tN-root" for tool N's arguments (compact JSON valid against its parameters).
std::string args_rule(rules& r, const tool_def& t, std::size_t n) {
    grammar::schema_options o;
    o.compact = true;
    o.rule_prefix = "t" + std::to_string(n) + "-";
    r.raw(grammar::compile_json_schema(closed_objects(parameters_of(t)), o));
    return o.rule_prefix + "root";
}

// The reasoning block the output may (or must) begin with, as a rule body ("" for none).
std::string reasoning_prefix(rules& r, const output_format& fmt, reasoning_start start) {
    if (fmt.reasoning != reasoning_style::tags || start == reasoning_start::none) return "";
    r.not_containing("think-body", fmt.think_close);
    r.add("think-gap", "[ \\t\\n]{0,4}");
    const std::string rest = "think-body " + lit(fmt.think_close) + " think-gap";
    if (start == reasoning_start::inside) return rest + " ";
    return "( " + lit(fmt.think_open) + " " + rest + " )? ";
}

struct family_syntax {
    std::string call_open, name_open, name_close, call_close;  // call = open name_open NAME name_close ARGS call_close
    std::string separator;                                     // between parallel calls
    std::string calls_open, calls_close;                       // around all calls
};

// The families whose syntax is JSON-bodied and sluice writes a grammar for.
std::optional<family_syntax> syntax_of(family f) {
    switch (f) {
        case family::hermes:
            return family_syntax{"<tool_call>\n", "{\"name\": \"", "\", \"arguments\": ", "}\n</tool_call>", "\n", "", ""};
        case family::llama3:
            return family_syntax{"", "{\"name\": \"", "\", \"parameters\": ", "}", "\n", "", ""};
        case family::generic:
            return family_syntax{"", "{\"name\": \"", "\", \"arguments\": ", "}", ", ", "{\"tool_calls\": [", "]}"};
        case family::mistral:
            return family_syntax{"", "{\"name\": \"", "\", \"arguments\": ", "}", ", ", "[TOOL_CALLS][", "]"};
        default:
            return std::nullopt;
    }
}

// Qwen 3.5 / Qwen3-Coder XML: one <parameter=K> block per property, schema order, required
// ones present; string values are raw text, others JSON.
std::string qwen_xml_call(rules& r, const tool_def& t, std::size_t n) {
    const json::object* props = nullptr;
    std::vector<std::string> required;
    if (const auto* p = parameters_of(t).as_object().if_contains("properties"); p != nullptr && p->is_object()) props = &p->as_object();
    if (const auto* q = parameters_of(t).as_object().if_contains("required"); q != nullptr && q->is_array()) {
        for (const auto& x : q->as_array()) {
            if (x.is_string()) required.emplace_back(x.as_string());
        }
    }
    std::string body = lit("<tool_call>\n<function=" + t.name + ">\n");
    if (props != nullptr) {
        std::size_t k = 0;
        for (const auto& [key, schema] : *props) {
            const std::string pname = "t" + std::to_string(n) + "-p" + std::to_string(k++) + "-";
            std::string value;
            const auto* type = schema.is_object() ? schema.as_object().if_contains("type") : nullptr;
            if (type != nullptr && type->is_string() && type->as_string() == "string") {
                // Raw text up to the closing tag (string keywords such as pattern are not
                // enforced in this syntax; docs/tools.md).
                r.not_containing(pname + "text", "\n</parameter>");
                value = pname + "text";
            } else {
                grammar::schema_options o;
                o.rule_prefix = pname;
                r.raw(grammar::compile_json_schema(closed_objects(schema), o));
                value = pname + "root";
            }
            const std::string block = lit("<parameter=" + std::string(key) + ">\n") + " " + value + " " + lit("\n</parameter>\n");
            const bool req = std::find(required.begin(), required.end(), std::string(key)) != required.end();
            body += " " + (req ? block : "( " + block + " )?");
        }
    }
    return body + " " + lit("</function>\n</tool_call>");
}

std::string calls_rule(rules& r, const output_format& fmt, family fam, const std::vector<const tool_def*>& chosen,
                       const std::vector<std::size_t>& index, bool parallel) {
    std::string alts;
    std::string separator = "\n", open, close;
    if (fam == family::qwen_xml) {
        for (std::size_t i = 0; i < chosen.size(); ++i) alts += (alts.empty() ? "" : " | ") + ("( " + qwen_xml_call(r, *chosen[i], index[i]) + " )");
    } else {
        const family_syntax s = *syntax_of(fam);
        for (std::size_t i = 0; i < chosen.size(); ++i) {
            const std::string args = args_rule(r, *chosen[i], index[i]);
            alts += (alts.empty() ? "" : " | ") + ("( " + lit(s.call_open + s.name_open + chosen[i]->name + s.name_close) + " " + args +
                                                   " " + lit(s.call_close) + " )");
        }
        separator = s.separator;
        open = s.calls_open;
        close = s.calls_close;
    }
    (void)fmt;
    r.add("call", alts);
    const std::string seq = parallel ? "call ( " + lit(separator) + " call )*" : "call";
    return (open.empty() ? "" : lit(open) + " ") + seq + (close.empty() ? "" : " " + lit(close));
}

}  // namespace

reasoning_start reasoning_at_start(const output_format& fmt, std::string_view prompt) {
    if (fmt.reasoning != reasoning_style::tags) return reasoning_start::none;
    const auto o = prompt.rfind(fmt.think_open);
    const auto c = prompt.rfind(fmt.think_close);
    if (o != std::string_view::npos && (c == std::string_view::npos || c < o)) return reasoning_start::inside;
    if (c != std::string_view::npos) {
        const std::string_view after = prompt.substr(c + fmt.think_close.size());
        if (after.find_first_not_of(" \t\r\n") == std::string_view::npos) return reasoning_start::none;
    }
    return reasoning_start::optional;
}

call_constraint build_call_constraint(const output_format& fmt, const std::vector<tool_def>& tools, const tool_choice& choice,
                                      bool parallel, reasoning_start start) {
    call_constraint out;
    out.parse_as = fmt.calls;
    if (choice.mode == choice_mode::none || tools.empty()) return out;
    std::vector<const tool_def*> chosen;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < tools.size(); ++i) {
        if (choice.mode != choice_mode::named || tools[i].name == choice.name) {
            chosen.push_back(&tools[i]);
            index.push_back(i);
        }
    }
    if (chosen.empty()) throw std::invalid_argument("no tool named '" + choice.name + "' is among the request's tools");
    const bool has_grammar = fmt.calls == family::qwen_xml || syntax_of(fmt.calls).has_value();
    const bool forced = choice.mode == choice_mode::required || choice.mode == choice_mode::named;
    family fam = fmt.calls;
    if (!has_grammar) {
        if (!forced) return out;  // parsed, not enforced (docs/tools.md)
        fam = family::generic;
    }
    out.parse_as = fam;
    rules r;
    const std::string calls = calls_rule(r, fmt, fam, chosen, index, parallel);
    if (fam == family::generic && !forced) {
        // The envelope is the whole output: a call list or a text response.
        r.add("resp-char", "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})");
        r.add("root", reasoning_prefix(r, fmt, start) + "( " + calls + " | " + lit("{\"response\": \"") + " resp-char* " + lit("\"}") + " )");
    } else if (forced || fam == family::generic) {
        r.add("root", reasoning_prefix(r, fmt, start) + calls);
    } else {
        // auto: lazy, from the call's first marker on (the matcher is fed the marker's bytes).
        out.lazy = true;
        switch (fam) {
            case family::hermes:
            case family::qwen_xml: out.triggers = {"<tool_call>"}; break;
            case family::mistral: out.triggers = {"[TOOL_CALLS]"}; break;
            case family::llama3:
                out.triggers = {"<|python_tag|>"};
                out.start_triggers = {"{"};
                break;
            default: break;
        }
        const std::string lead = fam == family::llama3 ? lit("<|python_tag|>") + "? " : "";
        r.add("root", lead + calls);
    }
    out.gbnf = r.text();
    return out;
}

std::vector<std::string> markup_tokens(const output_format& fmt) {
    std::vector<std::string> t;
    switch (fmt.calls) {
        case family::hermes:
        case family::qwen_xml: t = {"<tool_call>", "</tool_call>"}; break;
        case family::llama3: t = {"<|python_tag|>"}; break;
        case family::mistral: t = {"[TOOL_CALLS]", "[ARGS]", "[CALL_ID]"}; break;
        default: break;
    }
    if (fmt.reasoning == reasoning_style::tags) {
        t.push_back(fmt.think_open);
        t.push_back(fmt.think_close);
    }
    return t;
}

std::string generic_tools_prompt(const std::vector<tool_def>& tools, const tool_choice& choice, bool parallel) {
    json::array list;
    for (const auto& t : tools) {
        if (choice.mode == choice_mode::named && t.name != choice.name) continue;
        json::object fn{{"name", t.name}, {"parameters", parameters_of(t)}};
        if (!t.description.empty()) fn["description"] = t.description;
        list.push_back(std::move(fn));
    }
    std::string s = "You can call these tools (JSON Schema of each tool's arguments):\n" + json::serialize(list) + "\n\n";
    s += "Answer with one JSON object and nothing else. To call ";
    s += parallel ? "tools" : "a tool";
    s += ": {\"tool_calls\": [{\"name\": \"<tool name>\", \"arguments\": {<arguments>}}";
    s += parallel ? ", ...]}" : "]}";
    if (choice.mode == choice_mode::automatic) s += ". To answer without a tool: {\"response\": \"<your answer>\"}";
    s += ".";
    return s;
}

}  // namespace sluice::tools
