// Turns a stream of token ids into text for streaming clients. Pieces that end
// inside a UTF-8 character (byte-fallback tokens, split emoji) are held back until
// the character completes, so every returned string is valid UTF-8; bytes that can
// never form a character become U+FFFD.
//
// One instance per generated sequence; not thread-safe.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "sluice/engine/tokenizer.hpp"

namespace sluice::engine {

class incremental_decoder {
public:
    // special: render control tokens' text. strip_leading_space: drop the space SentencePiece
    // puts in front of the first piece (for text that starts a prompt, not a continuation).
    explicit incremental_decoder(const tokenizer& tok, bool special = false, bool strip_leading_space = false)
        : tok_(tok), special_(special), strip_(strip_leading_space) {}

    // Control tokens whose text is rendered even without `special` (a chat format's tool-call
    // markup, such as <|python_tag|>, that the output parser must see).
    void show_controls(std::vector<token_id> ids) { shown_ = std::move(ids); }

    // Text that became complete with this token (possibly empty).
    std::string push(token_id id);
    // Whatever is still held back, with incomplete bytes as U+FFFD. Resets the decoder.
    std::string flush();
    // Bytes currently held back.
    std::size_t pending() const noexcept { return held_.size(); }

private:
    const tokenizer& tok_;
    bool special_;
    bool strip_;
    bool first_ = true;
    std::string held_;
    std::vector<token_id> shown_;
};

}  // namespace sluice::engine
