#include "tool_request.hpp"

#include <boost/json.hpp>
#include <set>

#include "field_readers.hpp"
#include "sluice/api/api_error.hpp"

namespace sluice::api::detail {
namespace {

namespace json = boost::json;

constexpr std::size_t k_max_tools = 256;

std::string tool_name(const std::string& field, const json::value& v) {
    std::string name = string(field, v);
    if (name.empty() || name.size() > 64) throw invalid_request("'" + field + "' must be 1 to 64 characters long", field);
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        if (!ok) throw invalid_request("'" + field + "' may contain only a-z, A-Z, 0-9, underscores, dashes and dots, got '" + name + "'", field);
    }
    return name;
}

tools::tool_def function_def(const json::object& fn, const std::string& field) {
    tools::tool_def t;
    const auto* name = fn.if_contains("name");
    if (name == nullptr) throw invalid_request("'" + field + ".name' is required", field + ".name");
    t.name = tool_name(field + ".name", *name);
    for (const auto& kv : fn) {
        const std::string k(kv.key());
        const std::string f = field + "." + k;
        if (k == "name") continue;
        if (k == "description") {
            if (!kv.value().is_null()) t.description = string(f, kv.value());
        } else if (k == "parameters") {
            if (kv.value().is_null()) continue;
            if (!kv.value().is_object()) wrong_type(f, "an object (a JSON Schema)", kv.value());
            t.parameters = kv.value();
        } else if (k == "strict") {
            if (!kv.value().is_null()) t.strict = boolean(f, kv.value());
        }
        // Other keys (e.g. "examples") are not used by any template sluice knows; ignored.
    }
    if (t.parameters.is_null()) t.parameters = json::object{{"type", "object"}, {"properties", json::object{}}};
    return t;
}

}  // namespace

std::vector<tools::tool_def> parse_tools(const json::value& v, bool legacy) {
    const std::string field = legacy ? "functions" : "tools";
    if (!v.is_array()) wrong_type(field, "an array", v);
    const auto& a = v.get_array();
    if (a.size() > k_max_tools) throw invalid_request("'" + field + "' may hold at most " + std::to_string(k_max_tools) + " tools", field);
    std::vector<tools::tool_def> out;
    std::set<std::string> names;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string f = field + "[" + std::to_string(i) + "]";
        if (!a[i].is_object()) wrong_type(f, "an object", a[i]);
        const auto& o = a[i].get_object();
        if (legacy) {
            out.push_back(function_def(o, f));
        } else {
            const auto* type = o.if_contains("type");
            if (type == nullptr) throw invalid_request("'" + f + ".type' is required", f + ".type");
            const std::string ty = string(f + ".type", *type);
            if (ty != "function") unsupported(f + ".type", "Tools of type '" + ty + "' (only function tools run locally)");
            const auto* fn = o.if_contains("function");
            if (fn == nullptr) throw invalid_request("'" + f + ".function' is required", f + ".function");
            if (!fn->is_object()) wrong_type(f + ".function", "an object", *fn);
            out.push_back(function_def(fn->get_object(), f + ".function"));
        }
        if (!names.insert(out.back().name).second) {
            throw invalid_request("'" + field + "' names the function '" + out.back().name + "' twice", field);
        }
    }
    return out;
}

tools::tool_choice parse_tool_choice(const json::value& v, bool legacy) {
    const std::string field = legacy ? "function_call" : "tool_choice";
    tools::tool_choice c;
    if (v.is_string()) {
        const std::string s(v.get_string());
        if (s == "none") c.mode = tools::choice_mode::none;
        else if (s == "auto") c.mode = tools::choice_mode::automatic;
        else if (s == "required" && !legacy) c.mode = tools::choice_mode::required;
        else throw invalid_request("'" + field + "' must be " + (legacy ? "\"none\", \"auto\"" : "\"none\", \"auto\", \"required\"") + " or an object naming a function, got '" + s + "'", field);
        return c;
    }
    if (!v.is_object()) wrong_type(field, "a string or an object", v);
    const auto& o = v.get_object();
    c.mode = tools::choice_mode::named;
    if (legacy) {
        const auto* name = o.if_contains("name");
        if (name == nullptr) throw invalid_request("'function_call.name' is required", "function_call.name");
        c.name = tool_name("function_call.name", *name);
        return c;
    }
    const auto* type = o.if_contains("type");
    if (type == nullptr) throw invalid_request("'tool_choice.type' is required", "tool_choice.type");
    const std::string ty = string("tool_choice.type", *type);
    if (ty != "function") unsupported("tool_choice.type", "A tool_choice of type '" + ty + "'");
    const auto* fn = o.if_contains("function");
    if (fn == nullptr || !fn->is_object()) throw invalid_request("'tool_choice.function' must be an object with the function's name", "tool_choice.function");
    const auto* name = fn->get_object().if_contains("name");
    if (name == nullptr) throw invalid_request("'tool_choice.function.name' is required", "tool_choice.function.name");
    c.name = tool_name("tool_choice.function.name", *name);
    return c;
}

json::array parse_tool_calls(const json::value& v, const std::string& field) {
    if (!v.is_array()) wrong_type(field, "an array", v);
    json::array out;
    const auto& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string f = field + "[" + std::to_string(i) + "]";
        if (!a[i].is_object()) wrong_type(f, "an object", a[i]);
        const auto& o = a[i].get_object();
        if (const auto* type = o.if_contains("type"); type != nullptr && !type->is_null()) {
            const std::string ty = string(f + ".type", *type);
            if (ty != "function") unsupported(f + ".type", "Tool calls of type '" + ty + "'");
        }
        const auto* fn = o.if_contains("function");
        if (fn == nullptr || !fn->is_object()) throw invalid_request("'" + f + ".function' must be an object", f + ".function");
        const auto& fo = fn->get_object();
        const auto* name = fo.if_contains("name");
        if (name == nullptr) throw invalid_request("'" + f + ".function.name' is required", f + ".function.name");
        std::string args = "{}";
        if (const auto* a2 = fo.if_contains("arguments"); a2 != nullptr && !a2->is_null()) {
            // OpenAI sends a JSON string; some clients send the object itself.
            args = a2->is_string() ? std::string(a2->get_string()) : json::serialize(*a2);
        }
        std::string id = "call_" + std::to_string(i);
        if (const auto* idv = o.if_contains("id"); idv != nullptr && !idv->is_null()) id = string(f + ".id", *idv);
        out.push_back(json::object{{"id", id}, {"type", "function"},
                                   {"function", json::object{{"name", string(f + ".function.name", *name)}, {"arguments", args}}}});
    }
    return out;
}

}  // namespace sluice::api::detail
