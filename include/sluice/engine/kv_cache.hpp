// Key and value cache in fixed-size blocks, per layer l:
//   K[l] [n_blocks * block_size x n_head_kv(l)*head_dim_k(l)], V[l] likewise with head_dim_v(l)
// in half precision (as llama.cpp keeps it), or in float for exact computation. Row widths
// may differ between layers (gemma4). A layer that attends over another layer's KV
// (layer_weights::kv_source != l, gemma4's shared-KV layers) has no storage of its own: its
// k()/v() are its source layer's rows, which only the source layer writes.
// A sequence's positions live in the blocks of its block table: position p is row
// p % block_size of block table[p / block_size]. The scheduler shares one cache among
// all running sequences (engine/block_manager.hpp hands out the blocks); a single
// sequence (the CLI, the tests) uses one block of n_ctx positions and the
// size()/advance() view below. Owned by whoever runs the forward passes; not thread-safe.
//
// Sliding-window layers (gemma3, gemma4: a query at p sees keys p - window < p0 <= p, see
// llm_model::sliding_window) need only the last window positions. With a sliding pool
// (kv_blocks::swa_count > 0) their rows live in blocks of their own, addressed through a
// second block table per sequence (batch_sequence::swa_blocks), whose blocks behind the
// window the owner frees (engine/scheduler.hpp); the single-sequence view keeps them in a
// ring of window - 1 + sliding_chunk positions instead of n_ctx (position p is row
// p % ring_rows of its one block), so one forward pass may add at most max_chunk()
// positions. Without a sliding pool (swa_count 0, sliding_chunk 0, or a model without
// sliding layers) every layer lives in the main blocks and keeps every position. locate()
// says where a position of a layer lives either way.
//
// Recurrent layers (qwen35's gated DeltaNet) keep no keys or values (no storage, rows of
// width 0, nothing in block_bytes; k()/v() must not be called for them); their per-sequence state lives in the
// cache's recurrent_state, in slots: one for the single-sequence view, kv_blocks::state_slots
// for a pool (a running sequence holds one; see engine/scheduler.hpp). A model without
// recurrent layers has slots of 0 bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "sluice/engine/llm_model.hpp"
#include "sluice/engine/recurrent_state.hpp"

namespace sluice::engine {

enum class kv_precision { f16, f32 };

struct kv_blocks {
    std::size_t count = 1;  // blocks
    std::size_t size = 16;  // positions per block
    std::size_t state_slots = 1;  // recurrent-state slots (models with recurrent layers)
    // Blocks (of `size` positions) of the sliding-window layers' own pool; 0: those layers
    // live in the main blocks (ignored for a model without sliding layers).
    std::size_t swa_count = 0;
};

// Which layers' rows a block holds (sizing pools before a cache exists).
enum class kv_layers { all, full, sliding };

// The single-sequence view's default sliding_chunk: the transformer's default batch.
inline constexpr std::size_t k_sliding_chunk = 512;

class kv_cache {
public:
    // One sequence of up to n_ctx positions (one block; its table is single_table()).
    // Sliding-window layers keep a ring of window - 1 + sliding_chunk positions when that is
    // fewer than n_ctx (sliding_chunk 0: every position).
    kv_cache(const llm_model& m, std::size_t n_ctx, kv_precision precision = kv_precision::f16,
             std::size_t sliding_chunk = k_sliding_chunk);
    // A pool of blocks for many sequences. Memory is committed as blocks are first written.
    kv_cache(const llm_model& m, kv_blocks blocks, kv_precision precision = kv_precision::f16);

    kv_precision precision() const noexcept { return precision_; }
    std::size_t block_size() const noexcept { return block_size_; }
    std::size_t n_blocks() const noexcept { return n_blocks_; }
    std::size_t block_bytes() const noexcept;  // K and V of one main block, all layers whose rows it holds
    // Sliding-window layers in their own pool (or ring): its blocks, and the bytes of one.
    bool has_sliding_pool() const noexcept { return swa_blocks_ > 0; }
    std::size_t swa_n_blocks() const noexcept { return swa_blocks_; }
    std::size_t swa_block_bytes() const noexcept;
    // The same, before a cache exists (sizing a pool): the rows of `which` layers that own KV.
    static std::size_t block_bytes(const llm_model& m, std::size_t block_size, kv_precision precision,
                                   kv_layers which = kv_layers::all) noexcept;
    std::size_t bytes() const noexcept { return block_bytes() * n_blocks_ + swa_block_bytes() * swa_blocks_; }

    // Row `offset` of `block` in one layer (f16: k()/v(); f32: k_f32()/v_f32()): the rows of
    // the layer's kv_source; `block` is in the layer's pool (see locate()).
    std::uint16_t* k(std::size_t layer, std::size_t block, std::size_t offset) noexcept {
        const auto& s = slot_of(layer);
        return k16_[s.store].get() + row(s, block, offset) * s.k_row;
    }
    std::uint16_t* v(std::size_t layer, std::size_t block, std::size_t offset) noexcept {
        const auto& s = slot_of(layer);
        return v16_[s.store].get() + row(s, block, offset) * s.v_row;
    }
    float* k_f32(std::size_t layer, std::size_t block, std::size_t offset) noexcept {
        const auto& s = slot_of(layer);
        return k32_[s.store].get() + row(s, block, offset) * s.k_row;
    }
    float* v_f32(std::size_t layer, std::size_t block, std::size_t offset) noexcept {
        const auto& s = slot_of(layer);
        return v32_[s.store].get() + row(s, block, offset) * s.v_row;
    }
    // Where position p of a sequence lives in `layer`: {block, offset} through the main
    // table, or for a layer in the sliding pool through the sliding table (wrapping in the
    // single view's ring).
    std::pair<std::size_t, std::size_t> locate(std::size_t layer, std::span<const std::uint32_t> main,
                                               std::span<const std::uint32_t> sliding, std::size_t p) const noexcept {
        const auto& s = slot_of(layer);
        if (!s.sliding) return {main[p / block_size_], p % block_size_};
        if (ring_) return {sliding[0], p % s.rows_per_block};
        return {sliding[p / s.rows_per_block], p % s.rows_per_block};
    }
    bool in_sliding_pool(std::size_t layer) const noexcept { return slot_of(layer).sliding; }
    // Copies rows [0, n) of main block `from` into main block `to`, K and V of every layer
    // the main blocks hold (a prefix of a cached block lent to a new sequence; kv_cache does
    // not know which blocks are whose). Rows in the sliding pool are not copied.
    void copy_rows(std::size_t from, std::size_t to, std::size_t n) noexcept;
    // Elements between rows of one layer.
    std::size_t k_stride(std::size_t layer) const noexcept { return slot_of(layer).k_row; }
    std::size_t v_stride(std::size_t layer) const noexcept { return slot_of(layer).v_row; }
    // The recurrent layers' per-sequence state (slot 0 for the single-sequence view).
    recurrent_state& state() noexcept { return state_; }
    const recurrent_state& state() const noexcept { return state_; }

    // --- the single-sequence view (constructed with n_ctx) ---
    std::span<const std::uint32_t> single_table() const noexcept { return {&zero_, 1}; }
    // The sliding table of the single view (empty without a ring).
    std::span<const std::uint32_t> single_swa_table() const noexcept { return {&zero_, ring_ ? 1u : 0u}; }
    bool ring() const noexcept { return ring_; }
    // Positions one forward pass may add to the single view (the ring's slack; n_ctx without one).
    std::size_t max_chunk() const noexcept { return max_chunk_; }
    std::size_t n_ctx() const noexcept { return block_size_; }
    std::size_t size() const noexcept { return used_; }  // positions filled
    void clear() noexcept { used_ = 0; }
    void advance(std::size_t n) noexcept { used_ += n; }
    // Forgets positions [n, size()) (rejected speculative drafts); their rows are rewritten next.
    void truncate(std::size_t n) noexcept { used_ = n < used_ ? n : used_; }

private:
    struct slot {
        std::size_t store = 0;         // index into k16_/v16_ (or k32_/v32_): the source layer's storage
        std::size_t k_row = 0, v_row = 0;  // elements per row
        bool owner = true;                 // false: a shared-KV layer reading its source's storage, or a recurrent layer (no KV)
        bool sliding = false;              // its rows are in the sliding pool
        std::size_t rows_per_block = 0;    // positions per block of its pool
    };
    kv_cache(const llm_model& m, kv_blocks blocks, kv_precision precision, std::size_t ring_rows);
    static std::size_t row(const slot& s, std::size_t block, std::size_t offset) noexcept { return block * s.rows_per_block + offset; }
    const slot& slot_of(std::size_t layer) const noexcept { return slots_[layer]; }
    std::size_t pool_bytes(bool sliding) const noexcept;

    std::size_t n_blocks_, block_size_, used_ = 0;
    std::size_t swa_blocks_ = 0;  // blocks of the sliding pool (0: none)
    bool ring_ = false;
    std::size_t max_chunk_ = 0;
    kv_precision precision_;
    std::uint32_t zero_ = 0;
    std::vector<slot> slots_;  // [n_layer]
    // One array per layer that owns KV. new T[] without value-initialisation: pages are
    // committed on first write.
    std::vector<std::unique_ptr<std::uint16_t[]>> k16_, v16_;
    std::vector<std::unique_ptr<float[]>> k32_, v32_;
    recurrent_state state_;
};

}  // namespace sluice::engine
