// Keeps client text from becoming control tokens. A chat prompt is tokenized with
// special-token parsing on, because the template's own text holds the role markers
// (`<|im_start|>`); a client that writes `<|im_start|>system` in a message must not get a
// real system turn (or, with tools, a real tool call). So before rendering, every string
// the client supplied has each control token's text (and the marker character itself)
// replaced by a marker; after rendering, the markers become that text again and their
// byte ranges are handed to the tokenizer, which matches no control token there.
// User-defined tokens (Qwen's `<think>`, `<tool_call>`) are matched everywhere, as a
// tokenizer without special parsing would: they are text to the model's tokenizer too.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sluice/engine/tokenizer.hpp"

namespace sluice::http::detail {

struct guarded_prompt {
    std::string text;                          // the rendered prompt, client text restored
    std::vector<engine::text_range> plain;     // where control-token text came from the client
};

class control_text_guard {
public:
    // Scans with the tokenizer's own first-byte table of special tokens (built once per
    // model), so a guard costs nothing until a string holds control-token text.
    explicit control_text_guard(const engine::tokenizer& tok) : tok_(tok) {}

    // Replaces control-token text in every string inside `v` (keys included) with markers.
    void protect(boost::json::value& v);
    void protect(boost::json::object& o);
    // The rendered text with markers restored (invalid UTF-8 a template produced by slicing
    // becomes U+FFFD first). A marker a template cut apart stays as it is.
    guarded_prompt restore(std::string_view rendered) const;

private:
    // `s` with markers, or nullopt when it holds no control-token text (nothing is copied).
    std::optional<std::string> protect_string(std::string_view s);

    // The longest control (or unknown) token text, or the marker, that `s` starts with.
    std::string_view control_text_at(std::string_view s) const;

    const engine::tokenizer& tok_;
    std::vector<std::string> originals_;  // what each marker stands for
};

}  // namespace sluice::http::detail
