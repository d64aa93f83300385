// Hands out the KV cache's blocks to sequences and keeps finished sequences' full
// blocks as a prefix cache.
//
// A block is free, referenced (by one or more running sequences: full blocks of a
// shared prefix are shared), or cached (no references, but published under its
// contents, reusable until evicted, least recently used first). A published block is
// keyed by its parent block's publication id and its own tokens, so a match is exact:
// the KV rows of position p depend only on tokens [0, p] (the scheduler's forward pass
// is batch-invariant), and a chain of matching keys means the same tokens from
// position 0. Full blocks (block_size tokens) are shared by reference; a finished
// sequence's last, partly filled block is published too, and any published block whose
// first tokens continue a prompt can lend those rows (best_child), which the scheduler
// copies into a block of the new sequence's own.
//
// Reservation: a sequence reserves, when admitted, every block it may ever need, so it
// never fails halfway for lack of KV; allocate() draws on that reservation and evicts
// cached blocks when no free one is left. Owned by the scheduler's strand; not
// thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "sluice/engine/vocab.hpp"

namespace sluice::engine {

class block_manager {
public:
    // max_cached: cached blocks kept beyond which the least recently used are freed.
    block_manager(std::size_t n_blocks, std::size_t block_size, std::size_t max_cached);

    std::size_t block_size() const noexcept { return block_size_; }
    std::size_t n_blocks() const noexcept { return blocks_.size(); }
    std::size_t used() const noexcept { return n_blocks() - free_.size() - lru_.size(); }
    std::size_t cached() const noexcept { return lru_.size(); }
    std::size_t free() const noexcept { return free_.size(); }
    std::size_t reserved() const noexcept { return reserved_; }

    // The longest chain of published blocks matching a prefix of `tokens`, stopping
    // so that at least one token is left to compute (its logits are needed). Takes a
    // reference on each returned block.
    std::vector<std::uint32_t> acquire_prefix(std::span<const token_id> tokens);

    // Reserves n blocks for later allocate() calls; false (nothing reserved) when free
    // and evictable blocks, less what is already reserved, are fewer than n.
    bool reserve(std::size_t n);
    void unreserve(std::size_t n) noexcept;
    // A block from the reservation with one reference.
    std::uint32_t allocate();

    // Offers a block for reuse, as the child of `parent` (npos for the first block of a
    // sequence) holding `tokens` (1..block_size of them: fewer for a finished sequence's
    // last block, which no one may write to afterwards). A block whose contents are
    // already published stays private (freed on release).
    static constexpr std::uint32_t npos = UINT32_MAX;
    void publish(std::uint32_t block, std::uint32_t parent, std::span<const token_id> tokens);

    // The published child of `parent` (npos: a first block) whose tokens share the longest
    // prefix with `tokens`, counting at most `max_len`: {block, length}; {npos, 0} when
    // none shares a token. Its first `length` KV rows are those `tokens` would compute.
    struct partial_match {
        std::uint32_t block = npos;
        std::size_t length = 0;
    };
    partial_match best_child(std::uint32_t parent, std::span<const token_id> tokens, std::size_t max_len) const;
    // Takes a reference on a block (out of the cache when it had none): keeps a block
    // being copied from out of reach of eviction. Undone by release().
    void hold(std::uint32_t block);

    // The publication id of the published chain holding exactly `tokens` from position 0
    // (a whole number of blocks), whichever sequence computed it; 0 when none does.
    std::uint64_t chain_id(std::span<const token_id> tokens) const;
    // The block's publication id: names its contents and every token before them (its
    // chain from position 0); never reused; 0 when the block is not published.
    std::uint64_t publication(std::uint32_t block) const noexcept { return blocks_[block].uid; }

    // A pool whose blocks are named by another pool's publications (the scheduler's
    // sliding-window blocks, named after the main block covering the same positions, whose
    // publication id names every token up to their end): publishes `block` under `name`
    // (a nonzero publication id of the other pool; ignored when the name is taken), and
    // finds the block published under a name (npos: none). Such a block is cached, held
    // and evicted like any published block.
    void publish_named(std::uint32_t block, std::uint64_t name);
    std::uint32_t find_named(std::uint64_t name) const;

    // Drops one reference; the last one frees the block, or caches it if published.
    void release(std::uint32_t block);

private:
    struct key {
        std::uint64_t parent_uid;  // a named block (publish_named): its name, with no tokens
        std::vector<token_id> tokens;
        bool operator==(const key&) const = default;
    };
    struct key_hash {
        std::size_t operator()(const key& k) const noexcept;
    };
    struct block_state {
        std::uint32_t refs = 0;
        std::uint64_t uid = 0;  // publication id, 0: not published
        std::list<std::uint32_t>::iterator lru_pos;
    };
    void unpublish(std::uint32_t block);
    void take_from_lru(std::uint32_t block);
    void evict_oldest();

    std::size_t block_size_, max_cached_, reserved_ = 0;
    std::uint64_t next_uid_ = 1;
    std::vector<block_state> blocks_;
    std::vector<std::uint32_t> free_;
    std::list<std::uint32_t> lru_;  // cached blocks, least recently used first
    std::unordered_map<key, std::uint32_t, key_hash> published_;
    std::unordered_map<std::uint32_t, key> keys_;  // published block -> its key
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> children_;  // parent uid (0: none) -> published blocks
};

}  // namespace sluice::engine
