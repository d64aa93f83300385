// Per-layer key and value cache for one sequence:
//   K[layer] [n_ctx x n_head_kv*head_dim_k], V[layer] [n_ctx x n_head_kv*head_dim_v]
// in half precision (as llama.cpp keeps it), or in float for exact computation.
// Owned by whoever runs the sequence; not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "sluice/engine/llm_model.hpp"

namespace sluice::engine {

enum class kv_precision { f16, f32 };

class kv_cache {
public:
    kv_cache(const llm_model& m, std::size_t n_ctx, kv_precision precision = kv_precision::f16);

    kv_precision precision() const noexcept { return precision_; }
    // Float rows (kv_precision::f32 only).
    float* k_f32(std::size_t layer, std::size_t pos) noexcept { return k32_[layer].data() + pos * k_row_; }
    float* v_f32(std::size_t layer, std::size_t pos) noexcept { return v32_[layer].data() + pos * v_row_; }

    std::size_t n_ctx() const noexcept { return n_ctx_; }
    std::size_t size() const noexcept { return used_; }  // positions filled
    void clear() noexcept { used_ = 0; }
    void truncate(std::size_t n) noexcept { used_ = n < used_ ? n : used_; }
    void advance(std::size_t n) noexcept { used_ += n; }

    // Half-precision rows (kv_precision::f16 only).
    std::uint16_t* k(std::size_t layer, std::size_t pos) noexcept { return k_[layer].data() + pos * k_row_; }
    std::uint16_t* v(std::size_t layer, std::size_t pos) noexcept { return v_[layer].data() + pos * v_row_; }
    std::size_t k_stride() const noexcept { return k_row_; }  // elements between positions
    std::size_t v_stride() const noexcept { return v_row_; }
    std::size_t bytes() const noexcept;

private:
    std::size_t n_ctx_, used_ = 0, k_row_, v_row_;
    kv_precision precision_;
    std::vector<std::vector<std::uint16_t>> k_, v_;
    std::vector<std::vector<float>> k32_, v32_;
};

}  // namespace sluice::engine
