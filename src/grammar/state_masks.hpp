// Precomputed token masks per grammar position, the part of mask computation that does not
// depend on the whole stack. A position is a chain of grammar states: the top frame's state
// and the return states of up to k_max_chain - 1 frames below it; below the chain the stack
// is unknown. For a chain the store keeps
//   - certain: tokens accepted by paths that never pop below the chain (bit mask), and
//   - uncertain roots: trie nodes where a path first pops below the chain; the real stack
//     decides the tokens of those subtrees at run time.
// Entries are computed lazily. They are shared by every matcher of the grammar (per-grammar
// map keyed by chain) and across grammars through the vocabulary's cache, keyed by a
// canonical serialisation of the sub-grammar reachable from the chain (JSON Schema grammars
// share their string and number rules). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "grammar/compiled_grammar.hpp"
#include "grammar/parse_space.hpp"
#include "grammar/token_trie.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::grammar::detail {

constexpr std::size_t k_max_chain = 4;

struct state_mask {
    std::vector<std::uint32_t> certain;          // bit mask words, or empty when certain_ids holds them
    std::vector<std::uint32_t> certain_ids;      // the certain tokens when there are few
    std::vector<std::uint32_t> uncertain_roots;  // trie nodes
    std::vector<std::uint8_t> root_in_rest;      // per root: a node of the rest trie, not the full one
    // The bytes leading to each uncertain root, back to back: root r's are
    // [root_path_end[r-1], root_path_end[r]) (from 0 for r = 0). One buffer, not a string per
    // root: an entry may have tens of thousands of roots.
    std::string root_bytes;
    std::vector<std::uint32_t> root_path_end;
    std::size_t uncertain_nodes = 0;             // trie nodes under the uncertain roots
};

// Per-vocabulary cache of entries by canonical sub-grammar (bounded; cleared when full).
class vocab_mask_cache {
public:
    std::shared_ptr<const state_mask> find(const std::string& key);
    void insert(const std::string& key, std::shared_ptr<const state_mask> entry);

private:
    static constexpr std::size_t k_max_entries = 2048;
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const state_mask>> entries_;
};

class state_mask_store {
public:
    state_mask_store(const compiled_grammar& g, std::shared_ptr<const token_vocabulary> v);
    const token_vocabulary& vocabulary() const noexcept { return *vocab_; }
    // lookahead_classes over the vocabulary's longest token, computed on first use.
    const std::vector<std::uint32_t>& classes();
    // The entry of `chain` (top state first), computing it on first use.
    std::shared_ptr<const state_mask> get(const std::vector<std::uint32_t>& chain);

    // The store of (g, v), created on first use and kept by g.
    static std::shared_ptr<state_mask_store> of(const compiled_grammar& g, const std::shared_ptr<const token_vocabulary>& v);

private:
    std::shared_ptr<const state_mask> compute(const std::vector<std::uint32_t>& chain) const;
    std::string canonical_key(const std::vector<std::uint32_t>& chain) const;

    const compiled_grammar& g_;
    std::shared_ptr<const token_vocabulary> vocab_;
    std::mutex mutex_;
    std::map<std::vector<std::uint32_t>, std::shared_ptr<const state_mask>> entries_;
    std::once_flag classes_once_;
    std::vector<std::uint32_t> classes_;
};

// Sets the bits of the tokens ending at trie node n.
inline void set_token_bits(const token_trie& t, std::uint32_t n, std::uint32_t* mask) {
    for (auto i = t.tokens_begin[n]; i < t.tokens_begin[n + 1]; ++i) {
        auto id = static_cast<std::uint32_t>(t.token_ids[i]);
        mask[id >> 5] |= 1u << (id & 31);
    }
}

}  // namespace sluice::grammar::detail
