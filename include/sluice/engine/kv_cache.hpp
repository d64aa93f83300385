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
// Recurrent layers (qwen35's gated DeltaNet) keep no keys or values (no storage, rows of
// width 0, nothing in block_bytes; k()/v() must not be called for them); their per-sequence state lives in the
// cache's recurrent_state, in slots: one for the single-sequence view, kv_blocks::state_slots
// for a pool (a running sequence holds one; see engine/scheduler.hpp). A model without
// recurrent layers has slots of 0 bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sluice/engine/llm_model.hpp"
#include "sluice/engine/recurrent_state.hpp"

namespace sluice::engine {

enum class kv_precision { f16, f32 };

struct kv_blocks {
    std::size_t count = 1;  // blocks
    std::size_t size = 16;  // positions per block
    std::size_t state_slots = 1;  // recurrent-state slots (models with recurrent layers)
};

class kv_cache {
public:
    // One sequence of up to n_ctx positions (one block; its table is single_table()).
    kv_cache(const llm_model& m, std::size_t n_ctx, kv_precision precision = kv_precision::f16);
    // A pool of blocks for many sequences. Memory is committed as blocks are first written.
    kv_cache(const llm_model& m, kv_blocks blocks, kv_precision precision = kv_precision::f16);

    kv_precision precision() const noexcept { return precision_; }
    std::size_t block_size() const noexcept { return block_size_; }
    std::size_t n_blocks() const noexcept { return n_blocks_; }
    std::size_t block_bytes() const noexcept;  // K and V of one block, all layers that own KV
    // The same, before a cache exists (sizing a pool).
    static std::size_t block_bytes(const llm_model& m, std::size_t block_size, kv_precision precision) noexcept;
    std::size_t bytes() const noexcept { return block_bytes() * n_blocks_; }

    // Row `offset` of `block` in one layer (f16: k()/v(); f32: k_f32()/v_f32()): the rows of
    // the layer's kv_source.
    std::uint16_t* k(std::size_t layer, std::size_t block, std::size_t offset) noexcept {
        const auto& s = slot_of(layer);
        return k16_[s.store].get() + row(block, offset) * s.k_row;
    }
    std::uint16_t* v(std::size_t layer, std::size_t block, std::size_t offset) noexcept {
        const auto& s = slot_of(layer);
        return v16_[s.store].get() + row(block, offset) * s.v_row;
    }
    float* k_f32(std::size_t layer, std::size_t block, std::size_t offset) noexcept {
        const auto& s = slot_of(layer);
        return k32_[s.store].get() + row(block, offset) * s.k_row;
    }
    float* v_f32(std::size_t layer, std::size_t block, std::size_t offset) noexcept {
        const auto& s = slot_of(layer);
        return v32_[s.store].get() + row(block, offset) * s.v_row;
    }
    // Copies rows [0, n) of block `from` into block `to`, K and V of every layer (a prefix
    // of a cached block lent to a new sequence; kv_cache does not know which blocks are whose).
    void copy_rows(std::size_t from, std::size_t to, std::size_t n) noexcept;
    // Elements between rows of one layer.
    std::size_t k_stride(std::size_t layer) const noexcept { return slot_of(layer).k_row; }
    std::size_t v_stride(std::size_t layer) const noexcept { return slot_of(layer).v_row; }
    // The recurrent layers' per-sequence state (slot 0 for the single-sequence view).
    recurrent_state& state() noexcept { return state_; }
    const recurrent_state& state() const noexcept { return state_; }

    // --- the single-sequence view (constructed with n_ctx) ---
    std::span<const std::uint32_t> single_table() const noexcept { return {&zero_, 1}; }
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
    };
    std::size_t row(std::size_t block, std::size_t offset) const noexcept { return block * block_size_ + offset; }
    const slot& slot_of(std::size_t layer) const noexcept { return slots_[layer]; }

    std::size_t n_blocks_, block_size_, used_ = 0;
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
