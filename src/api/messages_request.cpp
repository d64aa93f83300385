#include "sluice/api/messages_request.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "field_gate.hpp"
#include "field_readers.hpp"
#include "sluice/api/api_error.hpp"
#include "sluice/api/json_body.hpp"

namespace sluice::api {
namespace {

namespace json = boost::json;
using namespace detail;

constexpr std::size_t k_max_stop = 16;
constexpr std::size_t k_max_stop_len = 512;
constexpr std::size_t k_max_tools = 256;

std::string block_type(const json::object& b, const std::string& field) {
    const auto* t = b.if_contains("type");
    if (t == nullptr) throw invalid_request("'" + field + ".type' is required", field + ".type");
    return string(field + ".type", *t);
}

// Text of a `system` value or a tool_result's content: a string or text blocks.
std::string text_of(const json::value& v, const std::string& field, const char* what) {
    if (v.is_string()) return std::string(v.get_string());
    if (!v.is_array()) wrong_type(field, "a string or an array of text blocks", v);
    std::string out;
    const auto& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string f = field + "[" + std::to_string(i) + "]";
        if (!a[i].is_object()) wrong_type(f, "an object", a[i]);
        const std::string type = block_type(a[i].get_object(), f);
        if (type != "text") unsupported(f, std::string("Content of type '") + type + "' in " + what);
        const auto* t = a[i].get_object().if_contains("text");
        if (t == nullptr) throw invalid_request("'" + f + ".text' is required", f + ".text");
        if (!out.empty()) out += "\n";
        out += string(f + ".text", *t);
    }
    return out;
}

std::string tool_name(const std::string& field, const json::value& v) {
    std::string name = string(field, v);
    if (name.empty() || name.size() > 128) throw invalid_request("'" + field + "' must be 1 to 128 characters long", field);
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        if (!ok) throw invalid_request("'" + field + "' may contain only a-z, A-Z, 0-9, underscores, dashes and dots, got '" + name + "'", field);
    }
    return name;
}

// One Anthropic message as one or more canonical messages, appended to `out`.
void add_message(json::array& out, const json::value& v, const std::string& f) {
    if (!v.is_object()) wrong_type(f, "an object", v);
    const auto& m = v.get_object();
    const auto* role = m.if_contains("role");
    if (role == nullptr) throw invalid_request("'" + f + ".role' is required", f + ".role");
    const std::string rl = string(f + ".role", *role);
    if (rl != "user" && rl != "assistant" && rl != "system") {
        throw invalid_request("'" + f + ".role' must be 'user' or 'assistant', got '" + rl + "'", f + ".role");
    }
    const auto* content = m.if_contains("content");
    if (content == nullptr) throw invalid_request("'" + f + ".content' is required", f + ".content");
    if (rl == "system") {
        // Not in the Messages reference, but Claude Code sends its environment this way.
        out.push_back(json::object{{"role", "system"}, {"content", text_of(*content, f + ".content", "system messages")}});
        return;
    }
    if (content->is_string()) {
        out.push_back(json::object{{"role", rl}, {"content", content->get_string()}});
        return;
    }
    if (!content->is_array()) wrong_type(f + ".content", "a string or an array of content blocks", *content);
    std::string text, reasoning;
    bool have_text = false;
    json::array calls;
    const auto flush_user_text = [&] {
        if (have_text) out.push_back(json::object{{"role", "user"}, {"content", text}});
        text.clear();
        have_text = false;
    };
    const auto& blocks = content->get_array();
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const std::string bf = f + ".content[" + std::to_string(i) + "]";
        if (!blocks[i].is_object()) wrong_type(bf, "an object", blocks[i]);
        const auto& b = blocks[i].get_object();
        const std::string type = block_type(b, bf);
        if (type == "text") {
            const auto* t = b.if_contains("text");
            if (t == nullptr) throw invalid_request("'" + bf + ".text' is required", bf + ".text");
            if (have_text) text += "\n";
            text += string(bf + ".text", *t);
            have_text = true;
        } else if (type == "tool_use" && rl == "assistant") {
            const auto* id = b.if_contains("id");
            const auto* name = b.if_contains("name");
            if (id == nullptr) throw invalid_request("'" + bf + ".id' is required", bf + ".id");
            if (name == nullptr) throw invalid_request("'" + bf + ".name' is required", bf + ".name");
            const auto* input = b.if_contains("input");
            if (input != nullptr && !input->is_object()) wrong_type(bf + ".input", "an object", *input);
            calls.push_back(json::object{{"id", string(bf + ".id", *id)}, {"type", "function"},
                                         {"function", json::object{{"name", tool_name(bf + ".name", *name)},
                                                                   {"arguments", input ? json::serialize(*input) : std::string("{}")}}}});
        } else if (type == "tool_result" && rl == "user") {
            flush_user_text();
            const auto* id = b.if_contains("tool_use_id");
            if (id == nullptr) throw invalid_request("'" + bf + ".tool_use_id' is required", bf + ".tool_use_id");
            std::string result;
            if (const auto* c = b.if_contains("content"); c != nullptr && !c->is_null()) result = text_of(*c, bf + ".content", "tool results");
            if (const auto* e = b.if_contains("is_error"); e != nullptr && !e->is_null() && boolean(bf + ".is_error", *e)) result = "Error: " + result;
            out.push_back(json::object{{"role", "tool"}, {"tool_call_id", string(bf + ".tool_use_id", *id)}, {"content", result}});
        } else if (type == "thinking" && rl == "assistant") {
            if (const auto* t = b.if_contains("thinking"); t != nullptr) reasoning += string(bf + ".thinking", *t);
        } else if (type == "redacted_thinking" && rl == "assistant") {
            // Encrypted reasoning from another model: nothing a local template can show.
        } else {
            unsupported(bf, "Content blocks of type '" + type + "' in " + rl + " messages");
        }
    }
    if (rl == "user") {
        flush_user_text();
        return;
    }
    json::object msg{{"role", "assistant"}};
    msg["content"] = have_text || calls.empty() ? json::value(text) : json::value(nullptr);
    if (!reasoning.empty()) msg["reasoning_content"] = reasoning;
    if (!calls.empty()) msg["tool_calls"] = std::move(calls);
    out.push_back(std::move(msg));
}

std::vector<tools::tool_def> parse_tools(const json::value& v) {
    if (!v.is_array()) wrong_type("tools", "an array", v);
    const auto& a = v.get_array();
    if (a.size() > k_max_tools) throw invalid_request("'tools' may hold at most " + std::to_string(k_max_tools) + " tools", "tools");
    std::vector<tools::tool_def> out;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string f = "tools[" + std::to_string(i) + "]";
        if (!a[i].is_object()) wrong_type(f, "an object", a[i]);
        const auto& o = a[i].get_object();
        if (const auto* t = o.if_contains("type"); t != nullptr && !t->is_null()) {
            const std::string type = string(f + ".type", *t);
            if (type != "custom") unsupported(f + ".type", "Server tools ('" + type + "')");
        }
        tools::tool_def t;
        const auto* name = o.if_contains("name");
        if (name == nullptr) throw invalid_request("'" + f + ".name' is required", f + ".name");
        t.name = tool_name(f + ".name", *name);
        if (const auto* d = o.if_contains("description"); d != nullptr && !d->is_null()) t.description = string(f + ".description", *d);
        const auto* schema = o.if_contains("input_schema");
        if (schema == nullptr) throw invalid_request("'" + f + ".input_schema' is required", f + ".input_schema");
        if (!schema->is_object()) wrong_type(f + ".input_schema", "an object (a JSON Schema)", *schema);
        t.parameters = *schema;
        if (const auto* s = o.if_contains("strict"); s != nullptr && !s->is_null()) t.strict = boolean(f + ".strict", *s);
        for (const auto& u : out) {
            if (u.name == t.name) throw invalid_request("'tools' names the tool '" + t.name + "' twice", "tools");
        }
        out.push_back(std::move(t));
    }
    return out;
}

void parse_tool_choice(completion_request& r, const json::value& v) {
    if (!v.is_object()) wrong_type("tool_choice", "an object", v);
    const auto& o = v.get_object();
    const auto* t = o.if_contains("type");
    if (t == nullptr) throw invalid_request("'tool_choice.type' is required", "tool_choice.type");
    const std::string type = string("tool_choice.type", *t);
    if (type == "auto") r.tool_choice.mode = tools::choice_mode::automatic;
    else if (type == "any") r.tool_choice.mode = tools::choice_mode::required;
    else if (type == "none") r.tool_choice.mode = tools::choice_mode::none;
    else if (type == "tool") {
        const auto* name = o.if_contains("name");
        if (name == nullptr) throw invalid_request("'tool_choice.name' is required", "tool_choice.name");
        r.tool_choice = {tools::choice_mode::named, tool_name("tool_choice.name", *name)};
    } else {
        throw invalid_request("'tool_choice.type' must be one of auto, any, tool, none; got '" + type + "'", "tool_choice.type");
    }
    if (const auto* p = o.if_contains("disable_parallel_tool_use"); p != nullptr && !p->is_null()) {
        r.parallel_tool_calls = !boolean("tool_choice.disable_parallel_tool_use", *p);
    }
}

}  // namespace

completion_request parse_messages_request(std::string_view body, const parse_options& opt, bool count_only) {
    json::value doc = parse_json_body(body);
    if (!doc.is_object()) throw invalid_request("The request body must be a JSON object, got " + kind_name(doc));
    const auto& o = doc.get_object();
    completion_request r;
    r.chat = true;
    std::string system;
    bool have_messages = false, have_model = false, choice_given = false;
    json::array messages;
    for (const auto& kv : o) {
        const std::string key(kv.key());
        const json::value& v = kv.value();
        if (key == "metadata" && !v.is_null() && !v.is_object()) wrong_type(key, "an object", v);  // ignored, but checked
        if (!admit_field(r.ignored_fields, key, v, k_messages, opt)) continue;
        if (key == "model") {
            r.model = string(key, v);
            have_model = true;
        } else if (key == "max_tokens") {
            r.max_tokens = static_cast<int>(integer(key, v, 1, 1 << 20));
        } else if (key == "messages") {
            if (!v.is_array()) wrong_type(key, "an array", v);
            for (std::size_t i = 0; i < v.get_array().size(); ++i) add_message(messages, v.get_array()[i], "messages[" + std::to_string(i) + "]");
            have_messages = true;
        } else if (key == "system") {
            if (!v.is_null()) system = text_of(v, key, "system");
        } else if (key == "stop_sequences") {
            if (v.is_null()) continue;
            if (!v.is_array()) wrong_type(key, "an array of strings", v);
            if (v.get_array().size() > k_max_stop) throw invalid_request("'stop_sequences' may hold at most " + std::to_string(k_max_stop) + " strings", key);
            for (std::size_t i = 0; i < v.get_array().size(); ++i) {
                std::string s = string(key + "[" + std::to_string(i) + "]", v.get_array()[i]);
                if (s.empty() || s.size() > k_max_stop_len) throw invalid_request("stop sequences must have 1 to " + std::to_string(k_max_stop_len) + " bytes", key);
                r.stop.push_back(std::move(s));
            }
        } else if (key == "temperature") {
            if (!v.is_null()) r.sampling.temperature = static_cast<float>(number(key, v, 0.0, 1.0));
        } else if (key == "top_p") {
            if (!v.is_null()) r.sampling.top_p = static_cast<float>(number(key, v, 0.0, 1.0));
        } else if (key == "top_k") {
            if (!v.is_null()) r.sampling.top_k = static_cast<int>(integer(key, v, 0, 100000));
        } else if (key == "stream") {
            if (!v.is_null()) r.stream = boolean(key, v);
        } else if (key == "tools") {
            if (!v.is_null()) r.tools = parse_tools(v);
        } else if (key == "tool_choice") {
            if (v.is_null()) continue;
            parse_tool_choice(r, v);
            choice_given = true;
        } else if (key == "thinking") {
            if (v.is_null()) continue;
            if (!v.is_object()) wrong_type(key, "an object", v);
            const auto* t = v.get_object().if_contains("type");
            if (t == nullptr) throw invalid_request("'thinking.type' is required", "thinking.type");
            const std::string type = string("thinking.type", *t);
            if (type != "enabled" && type != "disabled" && type != "adaptive") {
                throw invalid_request("'thinking.type' must be 'enabled', 'disabled' or 'adaptive', got '" + type + "'", "thinking.type");
            }
            if (const auto* b = v.get_object().if_contains("budget_tokens"); b != nullptr && !b->is_null()) {
                (void)integer("thinking.budget_tokens", *b, 0, 1 << 20);
            }
            r.template_kwargs["enable_thinking"] = type != "disabled";
        } else {
            unread_field(key);
        }
    }
    if (!have_model) throw invalid_request("'model' is required", "model");
    if (!have_messages) throw invalid_request("'messages' is required", "messages");
    if (!count_only && !r.max_tokens) throw invalid_request("'max_tokens' is required", "max_tokens");
    if (count_only) r.max_tokens.reset();
    if (!system.empty()) messages.insert(messages.begin(), json::object{{"role", "system"}, {"content", system}});
    if (messages.empty()) throw invalid_request("'messages' must contain at least one message", "messages");
    r.messages = std::move(messages);
    if (!choice_given) r.tool_choice.mode = r.tools.empty() ? tools::choice_mode::none : tools::choice_mode::automatic;
    if (r.tool_choice.mode != tools::choice_mode::none && r.tools.empty()) {
        throw invalid_request("'tool_choice' may only be specified while providing 'tools'", "tool_choice");
    }
    if (r.tool_choice.mode == tools::choice_mode::named) {
        bool found = false;
        for (const auto& t : r.tools) found = found || t.name == r.tool_choice.name;
        if (!found) throw invalid_request("'tool_choice.name' names the tool '" + r.tool_choice.name + "', which is not among the tools", "tool_choice.name");
    }
    return r;
}

}  // namespace sluice::api
