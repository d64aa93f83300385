// The vocabulary of a model, built from GGUF tokenizer metadata
// (`tokenizer.ggml.*`), following the rules llama.cpp applies so that token ids
// match it exactly: per-tokenizer defaults for BOS/EOS/UNK and add_bos, special
// ids from metadata, end-of-generation tokens detected by text, and the list of
// special tokens that are matched in text before normal tokenization.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/model/gguf_file.hpp"

namespace sluice::engine {

using token_id = std::int32_t;
constexpr token_id no_token = -1;

enum class vocab_kind { spm, bpe, wpm };
std::string_view name_of(vocab_kind kind) noexcept;

// Token attributes (bit flags), as llama.cpp derives them from tokenizer.ggml.token_type.
enum token_attr : std::uint32_t {
    attr_undefined = 0,
    attr_unknown = 1u << 0,
    attr_unused = 1u << 1,
    attr_normal = 1u << 2,
    attr_control = 1u << 3,
    attr_user_defined = 1u << 4,
    attr_byte = 1u << 5,
    attr_lstrip = 1u << 7,
    attr_rstrip = 1u << 8,
};

struct token_data {
    std::string text;
    float score = 0.0f;
    std::uint32_t attr = attr_normal;
};

struct special_ids {
    token_id bos = no_token, eos = no_token, eot = no_token, eom = no_token, unk = no_token;
    token_id sep = no_token, pad = no_token, mask = no_token, nl = no_token;
    token_id fim_pre = no_token, fim_suf = no_token, fim_mid = no_token;
    token_id fim_pad = no_token, fim_rep = no_token, fim_sep = no_token;
};

struct vocab_flags {
    bool add_bos = false;
    bool add_eos = false;
    bool add_sep = false;
    bool add_space_prefix = false;  // SentencePiece dummy prefix
    bool ignore_merges = false;     // BPE: a word that is a token is emitted whole
    // BPE over GPT-2 byte stand-ins. False for SentencePiece-shaped BPE (Gemma 4): merges
    // start from raw UTF-8 characters, spaces are U+2581 in token texts (escaped before
    // encoding, unescaped in pieces) and unknown bytes become `<0xNN>` tokens.
    bool byte_level = true;
    bool whole_newline_runs = false;  // BPE (Gemma 4): a newline run that is a token stays whole
    bool clean_spaces = false;      // detokenize: clean_up_tokenization_spaces
    bool lowercase = true;          // WordPiece normalizer
    bool strip_accents = true;      // WordPiece normalizer
};

class vocab {
public:
    // Throws sluice::error naming the key when metadata is missing or malformed,
    // and errc::unsupported for tokenizer models sluice does not implement.
    static vocab from_gguf(const model::gguf_file& file);

    vocab_kind kind() const noexcept { return kind_; }
    const std::string& model_name() const noexcept { return model_; }  // tokenizer.ggml.model
    const std::string& pre_name() const noexcept { return pre_; }       // tokenizer.ggml.pre
    std::size_t size() const noexcept { return tokens_.size(); }
    bool contains(token_id id) const noexcept { return id >= 0 && static_cast<std::size_t>(id) < tokens_.size(); }
    const token_data& token(token_id id) const { return tokens_.at(static_cast<std::size_t>(id)); }
    token_id find(std::string_view text) const noexcept;

    const special_ids& special() const noexcept { return special_; }
    const vocab_flags& flags() const noexcept { return flags_; }
    bool is_eog(token_id id) const noexcept { return eog_.count(id) != 0; }
    const std::set<token_id>& eog_tokens() const noexcept { return eog_; }
    // Control, user-defined and unknown tokens, longest text first.
    const std::vector<token_id>& special_tokens() const noexcept { return special_tokens_; }
    std::size_t max_token_length() const noexcept { return max_token_len_; }

    // BPE merge of two adjacent tokens: rank (lower merges first) and resulting token.
    struct merge {
        std::int32_t rank;
        token_id result;
    };
    const merge* find_merge(token_id left, token_id right) const noexcept;
    std::size_t merge_count() const noexcept { return merges_.size(); }

    // Token that encodes one raw byte (SPM and Gemma 4 `<0xNN>`, byte-level BPE stand-in
    // char), or no_token.
    token_id byte_token(std::uint8_t byte) const noexcept { return byte_tokens_[byte]; }

private:
    void load_tokens(const model::gguf_file& f);
    void load_merges(const model::gguf_file& f);
    void load_special_ids(const model::gguf_file& f);
    void detect_special_by_text();
    void finish();
    void configure_bpe();
    token_id byte_token_for_spm(std::uint8_t byte) const noexcept;

    vocab_kind kind_ = vocab_kind::spm;
    std::string model_, pre_, general_name_;
    std::vector<token_data> tokens_;
    std::unordered_map<std::string_view, token_id> index_;  // views into tokens_[i].text
    std::unordered_map<std::uint64_t, merge> merges_;        // key: left << 32 | right
    special_ids special_;
    vocab_flags flags_;
    bool force_add_bos_ = false;  // Gemma 4: BOS whatever add_bos_token says (as llama.cpp)
    std::set<token_id> eog_;
    std::vector<token_id> special_tokens_;
    std::size_t max_token_len_ = 0;
    token_id byte_tokens_[256] = {};
};

}  // namespace sluice::engine
