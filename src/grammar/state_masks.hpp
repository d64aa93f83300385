// Per (grammar, vocabulary): for each grammar state, the tokens its rule accepts whatever the
// stack below it is ("certain" tokens, as a bit mask), and the trie nodes where a token runs
// past the end of the rule, so the real stack decides ("uncertain" subtrees, walked at run
// time). Computed lazily per state and shared by every matcher of the grammar and vocabulary;
// thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "grammar/compiled_grammar.hpp"
#include "grammar/parse_space.hpp"
#include "grammar/token_trie.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::grammar::detail {

struct state_mask {
    std::vector<std::uint32_t> certain;         // bit mask words, or empty when no token is certain
    std::vector<std::uint32_t> uncertain_roots; // trie nodes, in preorder
    std::vector<std::string> root_paths;         // the bytes leading to each uncertain root
};

class state_mask_store {
public:
    state_mask_store(const compiled_grammar& g, std::shared_ptr<const token_vocabulary> v);
    const token_vocabulary& vocabulary() const noexcept { return *vocab_; }
    // The entry of grammar state `s` (which must have byte edges), computing it on first use.
    std::shared_ptr<const state_mask> get(std::uint32_t s);

    // The store of (g, v), created on first use and kept by g.
    static std::shared_ptr<state_mask_store> of(const compiled_grammar& g, const std::shared_ptr<const token_vocabulary>& v);

private:
    std::shared_ptr<const state_mask> compute(std::uint32_t s);

    const compiled_grammar& g_;
    std::shared_ptr<const token_vocabulary> vocab_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<const state_mask>> entries_;
};

// Sets the bits of the tokens ending at trie node n.
inline void set_token_bits(const token_trie& t, std::uint32_t n, std::uint32_t* mask) {
    for (auto i = t.tokens_begin[n]; i < t.tokens_begin[n + 1]; ++i) {
        auto id = static_cast<std::uint32_t>(t.token_ids[i]);
        mask[id >> 5] |= 1u << (id & 31);
    }
}

// Walks the subtree of trie node `root` from parser set `set` (the set after the root's
// path) and sets the bit of every token it accepts. `stack` is scratch.
void walk_subtree(parse_space& space, const token_trie& t, std::uint32_t root, std::uint32_t set,
                  std::uint32_t* mask, std::vector<std::uint32_t>& stack);

}  // namespace sluice::grammar::detail
