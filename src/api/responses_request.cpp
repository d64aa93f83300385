#include "sluice/api/responses_request.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "field_gate.hpp"
#include "field_readers.hpp"
#include "sluice/api/api_error.hpp"
#include "sluice/api/constraint.hpp"
#include "sluice/api/json_body.hpp"
#include "tool_request.hpp"

namespace sluice::api {
namespace {

namespace json = boost::json;
using namespace detail;

constexpr std::size_t k_max_items = 100000;

// Text of message content: a string, or input_text / output_text / text parts.
std::string content_text(const json::value& v, const std::string& field) {
    if (v.is_string()) return std::string(v.get_string());
    if (!v.is_array()) wrong_type(field, "a string or an array of content parts", v);
    std::string out;
    const auto& parts = v.get_array();
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::string f = field + "[" + std::to_string(i) + "]";
        if (!parts[i].is_object()) wrong_type(f, "an object", parts[i]);
        const auto& p = parts[i].get_object();
        const auto* type = p.if_contains("type");
        if (type == nullptr) throw invalid_request("'" + f + ".type' is required", f + ".type");
        const std::string ty = string(f + ".type", *type);
        if (ty != "input_text" && ty != "output_text" && ty != "text" && ty != "summary_text" && ty != "reasoning_text") {
            unsupported(f, "Content of type '" + ty + "'");
        }
        const auto* t = p.if_contains("text");
        if (t == nullptr) throw invalid_request("'" + f + ".text' is required", f + ".text");
        if (!out.empty()) out += "\n";
        out += string(f + ".text", *t);
    }
    return out;
}

// One input item, checked, with its type made explicit.
json::object normalise_item(const json::value& v, const std::string& f) {
    if (!v.is_object()) wrong_type(f, "an object", v);
    json::object item = v.get_object();
    std::string type = "message";
    if (const auto* t = item.if_contains("type"); t != nullptr && !t->is_null()) type = string(f + ".type", *t);
    item["type"] = type;
    if (type == "message") {
        const auto* role = item.if_contains("role");
        if (role == nullptr) throw invalid_request("'" + f + ".role' is required", f + ".role");
        const std::string rl = string(f + ".role", *role);
        if (rl != "user" && rl != "assistant" && rl != "system" && rl != "developer") {
            throw invalid_request("'" + f + ".role' must be one of user, assistant, system, developer; got '" + rl + "'", f + ".role");
        }
        const auto* c = item.if_contains("content");
        if (c == nullptr) throw invalid_request("'" + f + ".content' is required", f + ".content");
        (void)content_text(*c, f + ".content");
    } else if (type == "function_call") {
        for (const char* k : {"call_id", "name", "arguments"}) {
            const auto* x = item.if_contains(k);
            if (x == nullptr) throw invalid_request("'" + f + "." + k + "' is required", f + "." + k);
            (void)string(f + "." + k, *x);
        }
    } else if (type == "function_call_output") {
        const auto* id = item.if_contains("call_id");
        if (id == nullptr) throw invalid_request("'" + f + ".call_id' is required", f + ".call_id");
        (void)string(f + ".call_id", *id);
        const auto* out = item.if_contains("output");
        if (out == nullptr) throw invalid_request("'" + f + ".output' is required", f + ".output");
        (void)content_text(*out, f + ".output");
    } else if (type == "reasoning") {
        for (const char* k : {"summary", "content"}) {
            if (const auto* x = item.if_contains(k); x != nullptr && !x->is_null()) (void)content_text(*x, f + "." + k);
        }
    } else {
        unsupported(f + ".type", "Input items of type '" + type + "'");
    }
    return item;
}

json::array function_tools(responses_request& out, const json::value& v) {
    if (!v.is_array()) wrong_type("tools", "an array", v);
    json::array fns;  // in Chat Completions' nested shape, for the shared tools reader
    json::array echo;
    const auto& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string f = "tools[" + std::to_string(i) + "]";
        if (!a[i].is_object()) wrong_type(f, "an object", a[i]);
        const auto& o = a[i].get_object();
        const auto* type = o.if_contains("type");
        if (type == nullptr) throw invalid_request("'" + f + ".type' is required", f + ".type");
        const std::string ty = string(f + ".type", *type);
        if (ty != "function") {
            out.canonical.ignored_fields.push_back(f + " (" + ty + ")");
            continue;
        }
        json::object fn;
        for (const char* k : {"name", "description", "parameters", "strict"}) {
            if (const auto* x = o.if_contains(k)) fn[k] = *x;
        }
        fns.push_back(json::object{{"type", "function"}, {"function", fn}});
        echo.push_back(o);
    }
    out.canonical.tools = parse_tools(fns, false);
    return echo;
}

}  // namespace

responses_request parse_responses_request(std::string_view body, const parse_options& opt) {
    json::value doc = parse_json_body(body);
    if (!doc.is_object()) throw invalid_request("The request body must be a JSON object, got " + kind_name(doc));
    const auto& o = doc.get_object();
    responses_request out;
    completion_request& r = out.canonical;
    r.chat = true;
    bool have_input = false, choice_given = false;
    for (const auto& kv : o) {
        const std::string key(kv.key());
        const json::value& v = kv.value();
        if (!admit_field(r.ignored_fields, key, v, k_responses, opt)) continue;
        if (key == "model") {
            r.model = string(key, v);
        } else if (key == "input") {
            have_input = true;
            if (v.is_string()) {
                out.input.push_back(json::object{{"type", "message"}, {"role", "user"}, {"content", v.get_string()}});
            } else if (v.is_array()) {
                if (v.get_array().size() > k_max_items) throw invalid_request("'input' holds too many items", key);
                for (std::size_t i = 0; i < v.get_array().size(); ++i) {
                    out.input.push_back(normalise_item(v.get_array()[i], "input[" + std::to_string(i) + "]"));
                }
            } else {
                wrong_type(key, "a string or an array of items", v);
            }
        } else if (key == "instructions") {
            if (!v.is_null()) out.instructions = string(key, v);
        } else if (key == "previous_response_id") {
            if (!v.is_null()) out.previous_response_id = string(key, v);
        } else if (key == "store") {
            if (!v.is_null()) out.store = boolean(key, v);
        } else if (key == "metadata") {
            if (v.is_null()) continue;
            if (!v.is_object()) wrong_type(key, "an object", v);
            out.metadata = v.get_object();
        } else if (key == "stream") {
            if (!v.is_null()) r.stream = boolean(key, v);
        } else if (key == "max_output_tokens") {
            if (!v.is_null()) r.max_tokens = static_cast<int>(integer(key, v, 1, 1 << 20));
        } else if (key == "temperature") {
            if (!v.is_null()) r.sampling.temperature = static_cast<float>(number(key, v, 0.0, 2.0));
        } else if (key == "top_p") {
            if (!v.is_null()) r.sampling.top_p = static_cast<float>(number(key, v, 0.0, 1.0));
        } else if (key == "tools") {
            if (!v.is_null()) out.echo["tools"] = function_tools(out, v);
        } else if (key == "tool_choice") {
            if (v.is_null()) continue;
            out.echo["tool_choice"] = v;
            if (v.is_object()) {
                // Responses' flat form {"type":"function","name":...} in Chat's nested shape.
                const auto* name = v.get_object().if_contains("name");
                const auto* type = v.get_object().if_contains("type");
                if (type != nullptr && type->is_string() && type->get_string() == "function" && name != nullptr) {
                    r.tool_choice = parse_tool_choice(json::object{{"type", "function"}, {"function", json::object{{"name", *name}}}}, false);
                } else {
                    r.tool_choice = parse_tool_choice(v, false);
                }
            } else {
                r.tool_choice = parse_tool_choice(v, false);
            }
            choice_given = true;
        } else if (key == "parallel_tool_calls") {
            if (!v.is_null()) r.parallel_tool_calls = boolean(key, v);
        } else if (key == "text") {
            if (v.is_null()) continue;
            if (!v.is_object()) wrong_type(key, "an object", v);
            out.echo["text"] = v;
            if (const auto* f = v.get_object().if_contains("format"); f != nullptr && !f->is_null()) {
                if (!f->is_object()) wrong_type("text.format", "an object", *f);
                json::object rf = f->get_object();
                const auto* type = rf.if_contains("type");
                if (type != nullptr && type->is_string() && type->get_string() == "json_schema") {
                    json::object js;
                    for (const char* k : {"name", "schema", "strict", "description"}) {
                        if (const auto* x = rf.if_contains(k)) js[k] = *x;
                    }
                    rf = json::object{{"type", "json_schema"}, {"json_schema", js}};
                }
                try {
                    r.constraint = parse_response_format(rf);
                } catch (const api_error& e) {
                    std::string param = e.param;
                    if (param.starts_with("response_format")) param = "text.format" + param.substr(15);
                    throw api_error(e.status, e.type, e.what(), param, e.code);
                }
                r.constraint.field = "text.format";
            }
        } else if (key == "reasoning") {
            if (v.is_null()) continue;
            if (!v.is_object()) wrong_type(key, "an object", v);
            out.echo["reasoning"] = v;
            if (const auto* e = v.get_object().if_contains("effort"); e != nullptr && !e->is_null()) {
                r.reasoning_effort = string("reasoning.effort", *e);
                static constexpr std::string_view efforts[] = {"none", "minimal", "low", "medium", "high", "xhigh"};
                if (std::find(std::begin(efforts), std::end(efforts), r.reasoning_effort) == std::end(efforts)) {
                    throw invalid_request("'reasoning.effort' must be one of none, minimal, low, medium, high, xhigh", "reasoning.effort");
                }
                // A model whose template has a thinking switch follows the effort's on/off.
                r.template_kwargs["enable_thinking"] = r.reasoning_effort != "none";
            }
        } else if (key == "background") {
            if (!v.is_null() && boolean(key, v)) unsupported(key, "Background responses");
        } else if (key == "seed") {
            if (!v.is_null()) {
                r.sampling.seed = static_cast<std::uint64_t>(integer(key, v, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()));
                r.seeded = true;
            }
        } else {
            unread_field(key);
        }
    }
    if (!have_input && out.previous_response_id.empty()) throw invalid_request("'input' is required", "input");
    if (!choice_given) r.tool_choice.mode = r.tools.empty() ? tools::choice_mode::none : tools::choice_mode::automatic;
    if (r.tool_choice.mode != tools::choice_mode::none && r.tools.empty()) {
        throw invalid_request("'tool_choice' is only allowed when 'tools' are specified", "tool_choice");
    }
    if (r.tool_choice.mode == tools::choice_mode::named &&
        std::none_of(r.tools.begin(), r.tools.end(), [&](const tools::tool_def& t) { return t.name == r.tool_choice.name; })) {
        throw invalid_request("'tool_choice' names the function '" + r.tool_choice.name + "', which is not among the tools", "tool_choice");
    }
    return out;
}

json::array items_to_messages(const json::array& history, const json::array& input, const std::string& instructions) {
    json::array messages;
    if (!instructions.empty()) messages.push_back(json::object{{"role", "system"}, {"content", instructions}});
    std::string reasoning;  // for the next assistant turn
    // The assistant message a function call belongs to: the turn's message (text, then its
    // calls), or a new one; pending reasoning starts a new turn.
    const auto assistant = [&]() -> json::object& {
        const bool attach = !messages.empty() && messages.back().as_object().at("role") == "assistant" && reasoning.empty();
        if (!attach) messages.push_back(json::object{{"role", "assistant"}, {"content", nullptr}});
        auto& m = messages.back().as_object();
        if (!reasoning.empty()) {
            m["reasoning_content"] = reasoning;
            reasoning.clear();
        }
        return m;
    };
    std::size_t n = 0;
    for (const json::array* list : {&history, &input}) {
        for (const auto& iv : *list) {
            const std::string f = "input[" + std::to_string(n++) + "]";
            const auto& item = iv.as_object();
            const std::string type(item.at("type").as_string());
            if (type == "message") {
                std::string role(item.at("role").as_string());
                if (role == "developer") role = "system";
                const std::string text = content_text(item.at("content"), f + ".content");
                if (role == "assistant") {
                    json::object m{{"role", "assistant"}, {"content", text}};
                    if (!reasoning.empty()) {
                        m["reasoning_content"] = reasoning;
                        reasoning.clear();
                    }
                    messages.push_back(std::move(m));
                } else {
                    messages.push_back(json::object{{"role", role}, {"content", text}});
                }
            } else if (type == "function_call") {
                auto& m = assistant();
                if (!m.contains("tool_calls")) m["tool_calls"] = json::array();
                m["tool_calls"].as_array().push_back(json::object{
                    {"id", item.at("call_id")}, {"type", "function"},
                    {"function", json::object{{"name", item.at("name")}, {"arguments", item.at("arguments")}}}});
            } else if (type == "function_call_output") {
                messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", item.at("call_id")},
                                                {"content", content_text(item.at("output"), f + ".output")}});
            } else if (type == "reasoning") {
                std::string text;
                for (const char* k : {"content", "summary"}) {
                    if (const auto* x = item.if_contains(k); x != nullptr && !x->is_null() && text.empty()) text = content_text(*x, f + "." + k);
                }
                reasoning += text;
            }
        }
    }
    if (messages.empty()) throw invalid_request("The conversation is empty: give 'input'", "input");
    return messages;
}

}  // namespace sluice::api
