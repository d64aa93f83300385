// The token vocabulary as the grammar layer sees it: the bytes each token decodes to, and
// which tokens end generation or are special. Built once per model, immutable afterwards and
// shared by every matcher (thread-safe to share). It precomputes a byte trie of the pieces
// so a mask walk checks a shared prefix once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice::grammar {

namespace detail {
struct token_trie;        // defined in src/grammar/token_trie.hpp
class vocab_mask_cache;   // defined in src/grammar/state_masks.hpp
}

class token_vocabulary {
public:
    // pieces[i] = the exact bytes token i decodes to. eog_ids: end-of-generation tokens
    // (allowed exactly when the grammar is complete). special_ids: control tokens, never
    // allowed by a grammar (an id may be in both lists; EOG wins). Ids out of range are
    // ignored.
    token_vocabulary(std::vector<std::string> pieces, std::vector<std::int32_t> eog_ids,
                     std::vector<std::int32_t> special_ids);
    ~token_vocabulary();
    token_vocabulary(const token_vocabulary&) = delete;
    token_vocabulary& operator=(const token_vocabulary&) = delete;

    std::size_t size() const noexcept { return pieces_.size(); }
    const std::string& piece(std::int32_t id) const { return pieces_.at(static_cast<std::size_t>(id)); }
    bool is_eog(std::int32_t id) const noexcept;
    bool is_special(std::int32_t id) const noexcept;
    const std::vector<std::int32_t>& eog_ids() const noexcept { return eog_; }
    // Words of a token mask: (size() + 31) / 32.
    std::size_t mask_words() const noexcept { return (pieces_.size() + 31) / 32; }

    // For the matcher (src/grammar); not a stable interface.
    const detail::token_trie& trie() const noexcept { return *trie_; }
    // The "text slice": tokens made of whole UTF-8 characters with no control character, '"'
    // or '\\' (the bulk of any vocabulary). When a parser state maps every such character back
    // to itself (inside a JSON string, free text), all of them are allowed at once and only
    // the rest trie (every other token) is walked; likewise below any trie node.
    const std::vector<std::uint32_t>& text_slice() const noexcept { return text_slice_; }
    const detail::token_trie& rest_trie() const noexcept { return *rest_trie_; }
    // The text slice by first byte: b < 128 an ASCII byte, 128 every non-ASCII first character
    // (an empty vector when no slice token starts so).
    const std::vector<std::uint32_t>& text_slice_first(std::size_t b) const noexcept { return text_slice_first_[b]; }
    // Precomputed masks shared by every grammar over this vocabulary (internally locked).
    detail::vocab_mask_cache& mask_cache() const noexcept { return *mask_cache_; }

private:
    std::vector<std::string> pieces_;
    std::vector<std::int32_t> eog_;
    std::vector<std::uint8_t> kind_;  // 0 normal, 1 special, 2 eog
    std::unique_ptr<const detail::token_trie> trie_;
    std::unique_ptr<const detail::token_trie> rest_trie_;
    std::vector<std::uint32_t> text_slice_;
    std::vector<std::vector<std::uint32_t>> text_slice_first_;
    std::unique_ptr<detail::vocab_mask_cache> mask_cache_;
};

}  // namespace sluice::grammar
