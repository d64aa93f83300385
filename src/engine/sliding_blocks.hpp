// The scheduler's pool for sliding-window layers (gemma3, gemma4): their keys and values
// live in blocks of their own (kv_cache's sliding pool), one table per sequence beside its
// main block table, and a block goes back to the pool as soon as no later query can see it.
//
// Window: a query at position p attends keys p0 with p - window < p0 <= p (llm_model::
// sliding_window, as the transformer masks), so once a sequence has computed positions
// [0, n_done), block j of its table is dead when (j + 1) * block_size <= n_done + 1 - window;
// first_needed(n_done) is the first live one. During a pass over [n_done, n_done + n) a
// sequence holds at most (window + n - 2) / block_size + 2 blocks; with n <= max_pass (the
// transformer's batch) that is cap(), whatever the context. Admission commits each running
// sequence's cap against the pool; since every sliding block is held only by running
// sequences' tables, a sequence that needs a block while under its cap always finds a free
// or an evictable cached one: no block is reserved ahead.
//
// Prefix cache, exact: a full block j is published (block_manager::publish_named) under the
// publication id of the main block covering the same positions -- an id that names every
// token from position 0 to the block's end and is never reused -- so its rows are what
// those tokens compute (the forward pass is batch-invariant). A cached prefix of k main
// blocks is resumed only when the sliding blocks a query at k * block_size sees, [first_needed(k
// * block_size), k), are all still published (resumable()); the scheduler otherwise
// shortens the prefix, down to recomputing it. Dead blocks are released into the cache
// (least recently used first out), live ones are shared by reference. The same idea as
// state_checkpoints.hpp for recurrent state: resume only where what the next position needs
// was kept, keyed by chain id. A finished sequence's partly filled last block is published
// too (named after the partial main block published with it), so the first rows of a
// cached block can be lent to a new prompt here as in the main pool (lend()). Strand-owned,
// with the scheduler; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "sluice/engine/block_manager.hpp"
#include "sluice/engine/kv_cache.hpp"

namespace sluice::engine {

class sliding_blocks {
public:
    // n_blocks of block_size positions; max_cached dead blocks kept for the prefix cache.
    sliding_blocks(std::size_t n_blocks, std::size_t block_size, std::size_t max_cached, std::size_t window, std::size_t max_pass);

    // One sequence's sliding table: blocks[j] holds positions [j * block_size, (j + 1) *
    // block_size); entries before `first` have been released (npos).
    struct table {
        std::vector<std::uint32_t> blocks;
        std::size_t first = 0;      // first live entry
        std::size_t published = 0;  // leading entries offered to the prefix cache
        std::size_t cap = 0;        // committed at admission (0: not admitted)
    };

    // Blocks a sequence of at most `positions` positions holds at once.
    static std::size_t cap(std::size_t positions, std::size_t block_size, std::size_t window, std::size_t max_pass) noexcept;
    std::size_t cap(std::size_t positions) const noexcept { return cap(positions, pool_.block_size(), window_, max_pass_); }
    // The first block queries at positions >= pos can see.
    std::size_t first_needed(std::size_t pos) const noexcept { return pos + 1 > window_ ? (pos + 1 - window_) / pool_.block_size() : 0; }

    // Admission: whether running sequences' caps leave room for one of `positions`; commit
    // takes it (after fits()).
    bool fits(std::size_t positions) const noexcept { return committed_ + cap(positions) <= pool_.n_blocks(); }
    void commit(table& t, std::size_t positions);

    // The longest head of a cached prefix (names[j]: the publication id of its main block j)
    // whose sliding blocks a query right after it sees are all published.
    std::size_t resumable(std::span<const std::uint64_t> names) const;
    // Takes those blocks of a resumable head of k blocks into the table (k entries).
    void resume(table& t, std::span<const std::uint64_t> names, std::size_t k);

    // Blocks until the table covers `positions`. Throws when the pool is exhausted (cannot
    // happen under the committed caps).
    void ensure(table& t, std::size_t positions);
    // After positions [0, n_done) are computed: publishes newly full blocks (name_of(j): the
    // publication id of main block j, 0 when it has none) and releases the dead ones.
    void advance(table& t, std::size_t n_done, const std::function<std::uint64_t(std::size_t)>& name_of);
    // Partial-block lending: whether the block published under `name` (the lender's main
    // block's publication id) is cached, and, for a table of k entries (a resumed head), a
    // block of its own at entry k holding that block's rows [0, n), copied in `cache`.
    bool can_lend(std::uint64_t name) const { return pool_.find_named(name) != block_manager::npos; }
    void lend(table& t, std::uint64_t name, std::size_t n, kv_cache& cache, std::size_t n_layers);
    // A finished sequence's partly filled block j, published under its partial main block's name.
    void publish_partial(table& t, std::size_t j, std::uint64_t name);
    // Releases every block of the table and its commitment.
    void release(table& t);

    std::size_t n_blocks() const noexcept { return pool_.n_blocks(); }
    std::size_t used() const noexcept { return pool_.used(); }
    std::size_t cached() const noexcept { return pool_.cached(); }
    std::size_t free() const noexcept { return pool_.free(); }

private:
    bool window_cached(std::span<const std::uint64_t> names, std::size_t k) const;

    block_manager pool_;
    std::size_t window_, max_pass_, committed_ = 0;
};

}  // namespace sluice::engine
