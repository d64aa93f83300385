// Per-layer key and value cache for one sequence, in half precision:
//   K[layer] [n_ctx x n_head_kv*head_dim_k], V[layer] [n_ctx x n_head_kv*head_dim_v].
// Owned by whoever runs the sequence; not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "sluice/engine/llm_model.hpp"

namespace sluice::engine {

class kv_cache {
public:
    kv_cache(const llm_model& m, std::size_t n_ctx);

    std::size_t n_ctx() const noexcept { return n_ctx_; }
    std::size_t size() const noexcept { return used_; }  // positions filled
    void clear() noexcept { used_ = 0; }
    void truncate(std::size_t n) noexcept { used_ = n < used_ ? n : used_; }
    void advance(std::size_t n) noexcept { used_ += n; }

    std::uint16_t* k(std::size_t layer, std::size_t pos) noexcept { return k_[layer].data() + pos * k_row_; }
    std::uint16_t* v(std::size_t layer, std::size_t pos) noexcept { return v_[layer].data() + pos * v_row_; }
    std::size_t k_stride() const noexcept { return k_row_; }  // elements between positions
    std::size_t v_stride() const noexcept { return v_row_; }
    std::size_t bytes() const noexcept;

private:
    std::size_t n_ctx_, used_ = 0, k_row_, v_row_;
    std::vector<std::vector<std::uint16_t>> k_, v_;
};

}  // namespace sluice::engine
