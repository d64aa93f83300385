// Text <-> token ids for a vocabulary: SentencePiece-style (score-driven merges,
// byte fallback, U+2581 spaces), byte-level BPE (merge ranks, pre-tokenizer
// regexes by `tokenizer.ggml.pre`), SentencePiece-shaped BPE (Gemma 4: merge ranks over
// UTF-8 characters, U+2581 spaces, `<0xNN>` byte fallback) and WordPiece. Ids match llama.cpp.
//
// Thread-safety: a tokenizer is immutable after construction; all methods are
// const and may be called from any thread concurrently.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/engine/vocab.hpp"

namespace sluice::engine {

namespace detail {
class pre_tokenizer;
}

struct text_range {
    std::size_t offset = 0, length = 0;
};

class tokenizer {
public:
    explicit tokenizer(engine::vocab v);
    ~tokenizer();
    tokenizer(tokenizer&&) noexcept;
    tokenizer& operator=(tokenizer&&) noexcept;

    static tokenizer from_gguf(const model::gguf_file& file) { return tokenizer(engine::vocab::from_gguf(file)); }

    const engine::vocab& get_vocab() const noexcept { return *vocab_; }

    // add_special: add BOS/EOS (and SEP for WordPiece) as the vocabulary says.
    // parse_special: text such as "<|im_start|>" becomes its control token; when false only
    // user-defined tokens are matched in text (as Hugging Face tokenizers do).
    // Invalid UTF-8 in `text`: SPM encodes the bytes as byte tokens; BPE and WPM see U+FFFD.
    std::vector<token_id> tokenize(std::string_view text, bool add_special, bool parse_special) const;
    // tokenize(text, add_special, true), except that control (and unknown) tokens are not
    // matched where they overlap a `plain` byte range (sorted, disjoint): a rendered chat
    // prompt, whose client-supplied text must never become control tokens. `text` must be
    // valid UTF-8 (ranges are byte offsets into it).
    std::vector<token_id> tokenize(std::string_view text, bool add_special, std::span<const text_range> plain) const;

    // The special tokens (control, user-defined, unknown) whose text starts with byte `b`,
    // longest first: built once per model, for scanners of text (control_text_guard).
    std::span<const token_id> specials_starting_with(unsigned char b) const noexcept { return specials_by_first_byte_[b]; }

    // The bytes a token stands for (may be part of a UTF-8 character). Control and unknown
    // tokens give their text when `special` is true, nothing otherwise.
    const std::string& piece(token_id id) const;
    std::string token_to_piece(token_id id, bool special) const;

    // Concatenated pieces, without the leading space SentencePiece adds and, when the
    // vocabulary asks for it, with tokenization spaces cleaned up (" ," -> ",").
    std::string detokenize(std::span<const token_id> ids, bool remove_special, bool unparse_special) const;

private:
    struct fragment {
        token_id token;       // no_token: raw text
        std::size_t offset;   // raw text range
        std::size_t length;
    };
    std::vector<fragment> partition(std::string_view text, bool parse_special, std::span<const text_range> plain) const;
    std::vector<token_id> encode(std::string_view raw, bool add_special, bool parse_special, std::span<const text_range> plain) const;
    // The special tokens (longest first) that occur anywhere in `text`.
    std::vector<token_id> specials_in(std::string_view text, bool parse_special) const;
    void encode_text(std::string_view text, bool prefix_space, std::vector<token_id>& out) const;

    std::unique_ptr<const engine::vocab> vocab_;
    std::unique_ptr<const detail::pre_tokenizer> pre_;
    std::vector<std::string> pieces_;  // piece(id) with special = true
    std::vector<std::vector<token_id>> specials_by_first_byte_;  // 256 buckets
};

}  // namespace sluice::engine
