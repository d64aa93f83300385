#include "sluice/engine/kv_cache.hpp"

#include <algorithm>

#include "sluice/util/error.hpp"

namespace sluice::engine {

kv_cache::kv_cache(const llm_model& m, std::size_t n_ctx, kv_precision precision)
    : kv_cache(m, kv_blocks{1, n_ctx}, precision) {}

kv_cache::kv_cache(const llm_model& m, kv_blocks blocks, kv_precision precision)
    : n_blocks_(blocks.count),
      block_size_(blocks.size),
      precision_(precision),
      state_(m, m.has_recurrent_layers() ? blocks.state_slots : 0) {
    if (blocks.count == 0 || blocks.size == 0) throw error(errc::invalid_argument, "the KV cache needs at least one position");
    const std::size_t rows = n_blocks_ * block_size_;
    const auto& layers = m.layers();
    slots_.resize(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto& w = layers[l];
        if (w.recurrent) {  // no keys or values: an empty slot keeps the layer numbering
            slots_[l] = {0, 0, 0, false};
            continue;
        }
        if (w.kv_source != l) {  // a shared-KV layer: its source (an earlier layer) has a slot already
            slots_[l] = slots_[w.kv_source];
            slots_[l].owner = false;
            continue;
        }
        const std::size_t k_row = std::size_t{w.n_head_kv} * w.head_dim_k, v_row = std::size_t{w.n_head_kv} * w.head_dim_v;
        if (precision == kv_precision::f16) {
            slots_[l] = {k16_.size(), k_row, v_row, true};
            k16_.emplace_back(new std::uint16_t[rows * k_row]);
            v16_.emplace_back(new std::uint16_t[rows * v_row]);
        } else {
            slots_[l] = {k32_.size(), k_row, v_row, true};
            k32_.emplace_back(new float[rows * k_row]);
            v32_.emplace_back(new float[rows * v_row]);
        }
    }
}

std::size_t kv_cache::block_bytes(const llm_model& m, std::size_t block_size, kv_precision precision) noexcept {
    const std::size_t elem = precision == kv_precision::f16 ? sizeof(std::uint16_t) : sizeof(float);
    std::size_t per_row = 0;
    for (std::size_t l = 0; l < m.layers().size(); ++l) {
        const auto& w = m.layers()[l];
        if (w.kv_source == l && !w.recurrent) per_row += std::size_t{w.n_head_kv} * (std::size_t{w.head_dim_k} + w.head_dim_v);
    }
    return block_size * per_row * elem;
}

std::size_t kv_cache::block_bytes() const noexcept {
    const std::size_t elem = precision_ == kv_precision::f16 ? sizeof(std::uint16_t) : sizeof(float);
    std::size_t per_row = 0;
    for (const auto& s : slots_) per_row += s.owner ? s.k_row + s.v_row : 0;
    return block_size_ * per_row * elem;
}

void kv_cache::copy_rows(std::size_t from, std::size_t to, std::size_t n) noexcept {
    n = std::min(n, block_size_);
    for (std::size_t l = 0; l < slots_.size(); ++l) {
        if (!slots_[l].owner) continue;  // a shared-KV layer (its source's rows are copied once) or a recurrent one
        const std::size_t k_row = slots_[l].k_row, v_row = slots_[l].v_row;
        if (precision_ == kv_precision::f16) {
            std::copy_n(k(l, from, 0), n * k_row, k(l, to, 0));
            std::copy_n(v(l, from, 0), n * v_row, v(l, to, 0));
        } else {
            std::copy_n(k_f32(l, from, 0), n * k_row, k_f32(l, to, 0));
            std::copy_n(v_f32(l, from, 0), n * v_row, v_f32(l, to, 0));
        }
    }
}

}  // namespace sluice::engine
