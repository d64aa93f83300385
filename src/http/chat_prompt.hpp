// A chat request as the model's template sees it, and what the template's format implies for
// the output: template variables passed the way Hugging Face's apply_chat_template passes
// them (messages, tools, reasoning_effort, chat_template_kwargs), and the tool-call grammar,
// output parser and shown control tokens of the request (docs/tools.md).
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <vector>

#include "connection.hpp"
#include "sluice/api/completion_request.hpp"
#include "control_text_guard.hpp"
#include "sluice/tools/output_parser.hpp"
#include "sluice/tools/tool_grammar.hpp"

namespace sluice::http::detail {

// The template variables (add_generation_prompt included). With tools and a template that
// renders them, `tools` in OpenAI's shape and assistant tool_calls with arguments as the
// template expects; for a template without tool support (family generic) the tools are
// described in a system message and earlier calls appear as the JSON envelope.
boost::json::object chat_variables(const api::completion_request& r, const tools::output_format& fmt);

// Renders `vars` with the model's template. Templates written for string content (some Qwen 3
// GGUF templates test `'</think>' in content`) raise on the null content OpenAI clients send
// next to tool calls; when the first rendering raises and a message has null content, it is
// rendered again with "" there (as llama.cpp does). Throws what chat_template::render throws.
std::string render_chat(const chat::chat_template& tmpl, boost::json::object vars, const chat::render_options& options = {});

// render_chat with the client's strings guarded (control_text_guard.hpp): the prompt text and
// the ranges where control-token text is the client's, for tokenizer::tokenize(text, add, plain).
guarded_prompt render_guarded(const chat::chat_template& tmpl, boost::json::object vars, const engine::tokenizer& tok,
                              const chat::render_options& options = {});

// How this request's output is constrained and parsed, given the rendered prompt.
struct chat_output {
    std::string gbnf;                                      // "" when tools constrain nothing
    std::shared_ptr<const engine::grammar_trigger> trigger;  // lazy grammar (tool_choice auto)
    // A fresh parser per choice; empty: nothing to split, all text is content.
    std::function<std::unique_ptr<tools::output_parser>()> make_parser;
    std::vector<engine::token_id> shown_controls;
};

// Throws api_error 400 when a tool's parameters cannot be enforced.
chat_output plan_chat_output(const api::completion_request& r, const tools::output_format& fmt, const std::string& prompt,
                             const engine::vocab& vocab);

}  // namespace sluice::http::detail
