#include "chat_prompt.hpp"

#include <boost/json.hpp>

#include "sluice/api/api_error.hpp"
#include "sluice/engine/token_constraint.hpp"
#include "sluice/grammar/json_schema.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;

bool tools_offered(const api::completion_request& r) { return !r.tools.empty() && r.tool_choice.mode != tools::choice_mode::none; }

// An earlier call as the generic envelope, so the model sees its own past calls in the
// syntax it is asked to write.
std::string envelope_of(const json::array& calls) {
    json::array list;
    for (const auto& c : calls) {
        const auto& fn = c.at("function").as_object();
        json::value args;
        boost::system::error_code ec;
        args = json::parse(fn.at("arguments").as_string(), ec);
        if (ec) args = fn.at("arguments");
        list.push_back(json::object{{"name", fn.at("name")}, {"arguments", args}});
    }
    return json::serialize(json::object{{"tool_calls", list}});
}

}  // namespace

json::object chat_variables(const api::completion_request& r, const tools::output_format& fmt) {
    json::object vars = r.template_kwargs;
    json::array messages;
    const bool native = fmt.template_renders_tools;
    for (const auto& mv : r.messages) {
        json::object m = mv.as_object();
        if (auto* calls = m.if_contains("tool_calls")) {
            if (!native) {
                const std::string text = m.at("content").is_string() ? std::string(m.at("content").as_string()) : std::string();
                m["content"] = (text.empty() ? "" : text + "\n") + envelope_of(calls->as_array());
                m.erase("tool_calls");
            } else if (fmt.arguments_as_object) {
                for (auto& c : calls->as_array()) {
                    auto& fn = c.as_object()["function"].as_object();
                    boost::system::error_code ec;
                    json::value obj = json::parse(fn["arguments"].as_string(), ec);
                    if (!ec && obj.is_object()) fn["arguments"] = std::move(obj);
                }
            }
        }
        messages.push_back(std::move(m));
    }
    if (tools_offered(r)) {
        if (native) {
            json::array list;
            for (const auto& t : r.tools) {
                json::object fn{{"name", t.name}, {"description", t.description}, {"parameters", t.parameters}};
                list.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
            }
            vars["tools"] = std::move(list);
        } else {
            const std::string note = tools::generic_tools_prompt(r.tools, r.tool_choice, r.parallel_tool_calls);
            if (!messages.empty() && messages[0].as_object().at("role") == "system") {
                auto& first = messages[0].as_object();
                first["content"] = std::string(first["content"].as_string()) + "\n\n" + note;
            } else {
                messages.insert(messages.begin(), json::object{{"role", "system"}, {"content", note}});
            }
        }
    }
    if (!r.reasoning_effort.empty()) vars["reasoning_effort"] = r.reasoning_effort;
    vars["messages"] = std::move(messages);
    vars["add_generation_prompt"] = true;
    return vars;
}

std::string render_chat(const chat::chat_template& tmpl, json::object vars, const chat::render_options& options) {
    try {
        return tmpl.render(vars, options);
    } catch (const chat::template_output_too_large&) {
        throw;
    } catch (const chat::template_error&) {
        bool had_null = false;
        for (auto& m : vars["messages"].as_array()) {
            auto& o = m.as_object();
            if (auto* c = o.if_contains("content"); c != nullptr && c->is_null()) {
                *c = "";
                had_null = true;
            }
        }
        if (!had_null) throw;
        return tmpl.render(vars, options);
    }
}

guarded_prompt render_guarded(const chat::chat_template& tmpl, json::object vars, const engine::tokenizer& tok, const chat::render_options& options) {
    control_text_guard guard(tok);
    guard.protect(vars);
    return guard.restore(render_chat(tmpl, std::move(vars), options));
}

chat_output plan_chat_output(const api::completion_request& r, const tools::output_format& fmt, const std::string& prompt,
                             const engine::vocab& vocab) {
    chat_output out;
    const tools::reasoning_start start = tools::reasoning_at_start(fmt, prompt);
    tools::call_constraint cc;
    cc.parse_as = fmt.calls;
    if (tools_offered(r)) {
        try {
            cc = tools::build_call_constraint(fmt, r.tools, r.tool_choice, r.parallel_tool_calls, start);
        } catch (const grammar::schema_error& e) {
            // Find which tool: the message names the schema position; the tool list is short.
            throw api::invalid_request(std::string("A tool's parameters cannot be enforced: ") + e.what(), "tools", "invalid_tool_schema");
        } catch (const std::invalid_argument& e) {
            throw api::invalid_request(e.what(), "tool_choice");
        }
    }
    out.gbnf = cc.gbnf;
    if (cc.lazy) {
        auto t = std::make_shared<engine::grammar_trigger>();
        t->words = cc.triggers;
        t->start_words = cc.start_triggers;
        if (fmt.reasoning == tools::reasoning_style::tags) {
            t->quiet_open = fmt.think_open;
            t->quiet_close = fmt.think_close;
            t->starts_quiet = start == tools::reasoning_start::inside;
        }
        out.trigger = std::move(t);
    }
    tools::output_format parse_fmt = fmt;
    parse_fmt.calls = cc.parse_as;
    tools::parse_options po;
    po.parse_calls = tools_offered(r);
    po.parse_reasoning = r.parse_reasoning;
    po.starts_in_reasoning = start == tools::reasoning_start::inside;
    po.tools = r.tools;
    // Nothing to split (no tools offered, no reasoning markup or reasoning_format none): the
    // output is content exactly as decoded.
    const bool splits_reasoning = po.parse_reasoning && fmt.reasoning != tools::reasoning_style::none;
    if (po.parse_calls || splits_reasoning) out.make_parser = [parse_fmt, po] { return tools::make_output_parser(parse_fmt, po); };
    std::vector<std::string> shown;
    if (po.parse_calls) {
        shown = tools::markup_tokens(parse_fmt);
    } else if (fmt.reasoning == tools::reasoning_style::tags && po.parse_reasoning) {
        shown = {fmt.think_open, fmt.think_close};
    }
    {
        for (const std::string& text : shown) {
            const engine::token_id id = vocab.find(text);
            if (id != engine::no_token && !vocab.is_eog(id)) out.shown_controls.push_back(id);
        }
    }
    return out;
}

}  // namespace sluice::http::detail
