// A model's chat template: renders conversations into the prompt text the model was
// trained on, as llama-server does. Built from `tokenizer.ggml.chat_template` (or a
// template given by the operator); a model whose template is missing or cannot be
// parsed still works, with a warning and a ChatML template.
//
// Immutable after construction; render() may be called from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "sluice/chat/jinja.hpp"
#include "sluice/engine/vocab.hpp"
#include "sluice/model/gguf_file.hpp"

namespace sluice::chat {

class chat_template {
public:
    // The model's template, or `override_source` when not empty.
    static chat_template for_model(const model::gguf_file& file, const engine::vocab& vocab,
                                   const std::string& override_source = {});
    // A template from source text; throws template_error when it does not parse.
    static chat_template from_source(const std::string& source, std::string bos_text = {}, std::string eos_text = {},
                                     bool tokenizer_adds_bos = false);

    // `variables` holds messages, tools, add_generation_prompt and any extra keyword
    // arguments (e.g. enable_thinking); bos_token/eos_token default to the model's.
    // When the tokenizer adds BOS itself, a BOS text at the start of the result is
    // dropped so it is not doubled. A template without a system role (one that raises on,
    // or drops, a leading system message, as Gemma's do) gets the system text merged into
    // the next message (`system + "\n" + content`), or dropped when it is alone, as
    // llama-server does. Throws template_error when the template raises.
    std::string render(const boost::json::object& variables, const render_options& options = {}) const;

    bool is_fallback() const noexcept { return fallback_; }
    bool supports_system_role() const noexcept { return system_role_; }
    const std::string& source() const noexcept { return source_; }

    static const std::string& chatml_source();

private:
    bool probe_system_role() const;
    std::string render_messages(const boost::json::object& variables, const render_options& options) const;

    jinja_template tmpl_;
    std::string source_, bos_, eos_;
    bool adds_bos_ = false;
    bool fallback_ = false;
    bool system_role_ = true;
};

}  // namespace sluice::chat
