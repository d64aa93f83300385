// Key and value cache in fixed-size blocks:
//   K[layer] [n_blocks * block_size x n_head_kv*head_dim_k], V[layer] likewise with head_dim_v
// in half precision (as llama.cpp keeps it), or in float for exact computation.
// A sequence's positions live in the blocks of its block table: position p is row
// p % block_size of block table[p / block_size]. The scheduler shares one cache among
// all running sequences (engine/block_manager.hpp hands out the blocks); a single
// sequence (the CLI, the tests) uses one block of n_ctx positions and the
// size()/advance() view below. Owned by whoever runs the forward passes; not thread-safe.
//
// Recurrent layers (qwen35's gated DeltaNet) keep no keys or values (their K/V arrays are
// empty and count for nothing in block_bytes); their per-sequence state lives in the
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
    std::size_t block_bytes() const noexcept;  // K and V of one block, all layers
    // The same, before a cache exists (sizing a pool).
    static std::size_t block_bytes(const llm_model& m, std::size_t block_size, kv_precision precision) noexcept;
    std::size_t bytes() const noexcept { return block_bytes() * n_blocks_; }

    // Row `offset` of `block` in one layer (f16: k()/v(); f32: k_f32()/v_f32()).
    std::uint16_t* k(std::size_t layer, std::size_t block, std::size_t offset) noexcept { return k16_[layer].get() + row(block, offset) * k_row_; }
    std::uint16_t* v(std::size_t layer, std::size_t block, std::size_t offset) noexcept { return v16_[layer].get() + row(block, offset) * v_row_; }
    float* k_f32(std::size_t layer, std::size_t block, std::size_t offset) noexcept { return k32_[layer].get() + row(block, offset) * k_row_; }
    float* v_f32(std::size_t layer, std::size_t block, std::size_t offset) noexcept { return v32_[layer].get() + row(block, offset) * v_row_; }
    // Copies rows [0, n) of block `from` into block `to`, K and V of every layer (a prefix
    // of a cached block lent to a new sequence; kv_cache does not know which blocks are whose).
    void copy_rows(std::size_t from, std::size_t to, std::size_t n) noexcept;
    std::size_t k_stride() const noexcept { return k_row_; }  // elements between rows
    // The recurrent layers' per-sequence state (slot 0 for the single-sequence view).
    recurrent_state& state() noexcept { return state_; }
    const recurrent_state& state() const noexcept { return state_; }
    std::size_t v_stride() const noexcept { return v_row_; }

    // --- the single-sequence view (constructed with n_ctx) ---
    std::span<const std::uint32_t> single_table() const noexcept { return {&zero_, 1}; }
    std::size_t n_ctx() const noexcept { return block_size_; }
    std::size_t size() const noexcept { return used_; }  // positions filled
    void clear() noexcept { used_ = 0; }
    void advance(std::size_t n) noexcept { used_ += n; }

private:
    std::size_t row(std::size_t block, std::size_t offset) const noexcept { return block * block_size_ + offset; }

    std::size_t n_blocks_, block_size_, used_ = 0, k_row_, v_row_;
    kv_precision precision_;
    std::uint32_t zero_ = 0;
    // new T[] without value-initialisation: pages are committed on first write.
    std::vector<std::unique_ptr<std::uint16_t[]>> k16_, v16_;
    std::vector<std::unique_ptr<float[]>> k32_, v32_;
    recurrent_state state_;
};

}  // namespace sluice::engine
