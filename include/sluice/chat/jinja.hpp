// A Jinja2 interpreter for chat templates, written for sluice: the subset real models'
// templates use (statements, expressions, filters, tests, macros, loops, Python string
// and dict methods), with Jinja2's semantics as Hugging Face's apply_chat_template runs
// it (sandboxed, trim_blocks and lstrip_blocks, loop controls, tojson keeping non-ASCII,
// raise_exception and strftime_now).
//
// Safety: a template cannot read files or run anything; recursion depth, loop
// iterations and output size are bounded, so hostile templates fail with an error.
// A parsed template is immutable and may be rendered from several threads.
#pragma once

#include <ctime>
#include <optional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sluice/chat/value.hpp"

namespace sluice::chat {

// A parse or render error: the message and the template line it happened on.
class template_error : public std::runtime_error {
public:
    template_error(const std::string& message, int line)
        : std::runtime_error(line > 0 ? message + " (template line " + std::to_string(line) + ")" : message), line_(line) {}
    int line() const noexcept { return line_; }

private:
    int line_;
};

// The rendering grew past render_options::max_output (too much input, not a template bug).
class template_output_too_large : public template_error {
public:
    using template_error::template_error;
};

struct render_options {
    std::optional<std::tm> fixed_time;        // strftime_now's time; local time now when empty
    std::size_t max_output = 8u << 20;        // bytes
    std::size_t max_steps = 50'000'000;       // statements, loop iterations and calls
    int max_depth = 256;                      // nested macro calls
};

// The time strftime_now sees: options.fixed_time, else the local time now.
std::tm render_time(const render_options& options);

class jinja_template {
public:
    // Throws template_error on a syntax error.
    static jinja_template parse(std::string_view source);
    // `context` is an object of variables (messages, tools, add_generation_prompt, ...).
    // Throws template_error when the template raises or misbehaves.
    std::string render(const value& context, const render_options& options = {}) const;

private:
    struct impl;
    std::shared_ptr<const impl> impl_;
};

}  // namespace sluice::chat
