#include "sluice/chat/chat_template.hpp"

#include <boost/json.hpp>
#include <ctime>
#include <string>

#include "sluice/model/hparams.hpp"
#include "sluice/util/log.hpp"

namespace sluice::chat {

const std::string& chat_template::chatml_source() {
    static const std::string s =
        "{%- for message in messages -%}"
        "{{- '<|im_start|>' + message['role'] + '\\n' + (message['content'] if message['content'] is string else '') + "
        "'<|im_end|>\\n' -}}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";
    return s;
}

chat_template chat_template::from_source(const std::string& source, std::string bos_text, std::string eos_text,
                                         bool tokenizer_adds_bos) {
    chat_template t;
    t.tmpl_ = jinja_template::parse(source);
    t.source_ = source;
    t.bos_ = std::move(bos_text);
    t.eos_ = std::move(eos_text);
    t.adds_bos_ = tokenizer_adds_bos;
    t.system_role_ = t.probe_system_role();
    return t;
}

// llama.cpp's capability probe: a system message whose text does not reach the output
// (the template raised, or ignored it) means the template has no system role.
bool chat_template::probe_system_role() const {
    static const std::string probe = "sluice system probe 7f3a";
    const boost::json::array messages{boost::json::object{{"role", "system"}, {"content", probe}},
                                      boost::json::object{{"role", "user"}, {"content", "hello"}}};
    try {
        return render_messages(boost::json::object{{"messages", messages}}, {}).find(probe) != std::string::npos;
    } catch (const template_error&) {
        return false;
    }
}

namespace {

// llama-server's workaround for templates without a system role: a leading system
// message's text goes in front of the next message's, or is dropped when alone.
boost::json::object merge_system_message(const boost::json::object& variables) {
    boost::json::object out = variables;
    auto* messages = out.if_contains("messages");
    if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) return out;
    auto& list = messages->as_array();
    const auto* first = list[0].if_object();
    const auto* role = first != nullptr ? first->if_contains("role") : nullptr;
    if (role == nullptr || !role->is_string() || role->as_string() != "system") return out;
    if (list.size() > 1 && list[1].is_object()) {
        const auto* sys_value = first->if_contains("content");
        const auto* sys = sys_value != nullptr ? sys_value->if_string() : nullptr;
        auto& next = list[1].as_object();
        auto* content = next.if_contains("content");
        if (sys != nullptr && content != nullptr && content->is_string()) {
            *content = std::string(*sys) + "\n" + std::string(content->as_string());
        }
    }
    list.erase(list.begin());
    return out;
}

}  // namespace

chat_template chat_template::for_model(const model::gguf_file& file, const engine::vocab& vocab,
                                       const std::string& override_source) {
    const auto& sp = vocab.special();
    const std::string bos = vocab.contains(sp.bos) ? vocab.token(sp.bos).text : "";
    const std::string eos = vocab.contains(sp.eos) ? vocab.token(sp.eos).text : "";
    std::string source = override_source;
    if (source.empty()) source = std::string(model::find_string(file, "tokenizer.chat_template").value_or(""));
    if (!source.empty()) {
        try {
            return from_source(source, bos, eos, vocab.flags().add_bos);
        } catch (const template_error& e) {
            log::warn(std::string("the model's chat template cannot be parsed (") + e.what() + "); using ChatML");
        }
    } else {
        log::warn("the model has no chat template; using ChatML");
    }
    auto t = from_source(chatml_source(), bos, eos, vocab.flags().add_bos);
    t.fallback_ = true;
    return t;
}

std::string chat_template::render(const boost::json::object& variables, const render_options& options) const {
    if (!system_role_) return render_messages(merge_system_message(variables), options);
    return render_messages(variables, options);
}

std::string chat_template::render_messages(const boost::json::object& variables, const render_options& options) const {
    value::object ctx;
    ctx.items.emplace_back("bos_token", value(bos_));
    ctx.items.emplace_back("eos_token", value(eos_));
    ctx.items.emplace_back("add_generation_prompt", value(false));
    // Llama 3.x templates print `date_string` (else a hard-coded 2024 date); llama-server
    // supplies today's, and so does sluice when the template reads it.
    if (source_.find("date_string") != std::string::npos) {
        const std::tm now = render_time(options);
        char buf[32];
        ctx.items.emplace_back("date_string", value(std::string(buf, std::strftime(buf, sizeof buf, "%d %b %Y", &now))));
    }
    for (const auto& kv : variables) ctx.set(std::string(kv.key()), value::from_json(kv.value()));
    std::string out = tmpl_.render(value(std::move(ctx)), options);
    if (adds_bos_ && !bos_.empty() && out.compare(0, bos_.size(), bos_) == 0) out.erase(0, bos_.size());
    return out;
}

}  // namespace sluice::chat
