// Pre-tokenizers of byte-level BPE vocabularies: the regex sequence selected by
// `tokenizer.ggml.pre`, applied the way Hugging Face's Split(behavior=Isolated)
// sequence is: each regex splits every piece left by the previous one, and text
// between matches stays a piece of its own. Engine-internal.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::engine::detail {

struct pre_tokenizer_config {
    std::vector<std::string> regexes;  // PCRE2 syntax; `\s`/`\S` mean Unicode White_Space
    bool clean_spaces = true;
    bool ignore_merges = false;
    bool add_bos = false;
    bool known = true;  // false: unknown name, GPT-2 rules used
    // SentencePiece-shaped BPE (Gemma 4, Sarvam): merges run on raw UTF-8 characters instead
    // of GPT-2 byte stand-ins, spaces are escaped as U+2581 first, and bytes outside the
    // vocabulary fall back to `<0xNN>` tokens.
    bool byte_level = true;
    // Gemma 4: a piece made only of newlines that is itself a token is emitted whole.
    bool whole_newline_runs = false;
    // Gemma 4: BOS is added even where tokenizer.ggml.add_bos_token says false.
    bool force_add_bos = false;
};

// Configuration for a `tokenizer.ggml.pre` name ("" = missing key).
pre_tokenizer_config pre_tokenizer_for(std::string_view pre_name);

class pre_tokenizer {
public:
    // Compiles the regexes; throws sluice::error(errc::invalid_format) on a bad pattern.
    explicit pre_tokenizer(const std::vector<std::string>& regexes);
    ~pre_tokenizer();
    pre_tokenizer(const pre_tokenizer&) = delete;
    pre_tokenizer& operator=(const pre_tokenizer&) = delete;

    // Splits valid UTF-8 `text` into pieces (string_views into `text`). Thread-safe.
    std::vector<std::string_view> split(std::string_view text) const;

private:
    struct compiled;
    std::vector<std::unique_ptr<compiled>> compiled_;
};

}  // namespace sluice::engine::detail
