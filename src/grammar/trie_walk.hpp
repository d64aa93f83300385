// Depth-first walk of the vocabulary trie under a parser set: a subtree is dropped at its
// first rejected byte, and below a node that ends on a character boundary with a set closed
// under text (parse_space::closed_under_text), every text-slice token of the subtree is
// allowed at once and only the rest trie's matching subtree is walked.
//
// With an entry (precomputing a state_mask over an unknown parent) a path that pops into the
// unknown parent is recorded as an uncertain root instead of being followed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "grammar/parse_space.hpp"
#include "grammar/state_masks.hpp"
#include "grammar/token_trie.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::grammar::detail {

class trie_walker {
public:
    // Sets bits in `mask` ((vocab.size()+31)/32 words); `entry` may be null (run time).
    trie_walker(parse_space& space, const token_vocabulary& v, std::uint32_t* mask, state_mask* entry)
        : space_(space), vocab_(v), mask_(mask), entry_(entry) {}

    // Walks the subtree of `node` (of the rest trie when `in_rest`, else the full trie), where
    // `set` is the parser set after `path`, the node's bytes.
    void walk(bool in_rest, std::uint32_t node, std::uint32_t set, const std::string& path);

    bool marked = false;  // some bit was set

private:
    void mark(const token_trie& t, std::uint32_t n);
    // Records n as an uncertain root; `path` is its bytes, or null to read them from t.
    void uncertain(const token_trie& t, bool in_rest, std::uint32_t n, const std::string* path);
    // The slice shortcut at full-trie node n with set `set`; false when it does not apply.
    bool take_slice(std::uint32_t n, std::uint32_t set, const std::string& path);
    // The walk from the full trie's root, split by first byte: the slice tokens of every first
    // character that leads to a set closed under text are allowed with one masked OR. False
    // (nothing done) when no first character does.
    bool walk_root(std::uint32_t set);

    parse_space& space_;
    const token_vocabulary& vocab_;
    std::uint32_t* mask_;
    state_mask* entry_;
    std::vector<std::uint32_t> stack_[2];
};

}  // namespace sluice::grammar::detail
