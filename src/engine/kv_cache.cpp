#include "sluice/engine/kv_cache.hpp"

#include <algorithm>

#include "sluice/util/error.hpp"

namespace sluice::engine {

kv_cache::kv_cache(const llm_model& m, std::size_t n_ctx, kv_precision precision)
    : kv_cache(m, kv_blocks{1, n_ctx}, precision) {}

kv_cache::kv_cache(const llm_model& m, kv_blocks blocks, kv_precision precision)
    : n_blocks_(blocks.count),
      block_size_(blocks.size),
      k_row_(std::size_t{m.hparams().n_head_kv} * m.hparams().head_dim_k),
      v_row_(std::size_t{m.hparams().n_head_kv} * m.hparams().head_dim_v),
      precision_(precision),
      state_(m, m.has_recurrent_layers() ? blocks.state_slots : 0) {
    if (blocks.count == 0 || blocks.size == 0) throw error(errc::invalid_argument, "the KV cache needs at least one position");
    const std::size_t rows = n_blocks_ * block_size_;
    for (std::uint32_t l = 0; l < m.hparams().n_layer; ++l) {
        if (m.layers()[l].recurrent) {  // no keys or values: a null row keeps the layer numbering
            if (precision == kv_precision::f16) {
                k16_.emplace_back();
                v16_.emplace_back();
            } else {
                k32_.emplace_back();
                v32_.emplace_back();
            }
            continue;
        }
        if (precision == kv_precision::f16) {
            k16_.emplace_back(new std::uint16_t[rows * k_row_]);
            v16_.emplace_back(new std::uint16_t[rows * v_row_]);
        } else {
            k32_.emplace_back(new float[rows * k_row_]);
            v32_.emplace_back(new float[rows * v_row_]);
        }
    }
}

std::size_t kv_cache::block_bytes(const llm_model& m, std::size_t block_size, kv_precision precision) noexcept {
    const auto& hp = m.hparams();
    const std::size_t elem = precision == kv_precision::f16 ? sizeof(std::uint16_t) : sizeof(float);
    const auto n_attn = static_cast<std::size_t>(std::count_if(m.layers().begin(), m.layers().end(), [](const auto& l) { return !l.recurrent; }));
    return n_attn * block_size * hp.n_head_kv * (std::size_t{hp.head_dim_k} + hp.head_dim_v) * elem;
}

std::size_t kv_cache::block_bytes() const noexcept {
    std::size_t layers = 0;  // layers with keys and values
    for (const auto& k : k16_) layers += k ? 1 : 0;
    for (const auto& k : k32_) layers += k ? 1 : 0;
    const std::size_t elem = precision_ == kv_precision::f16 ? sizeof(std::uint16_t) : sizeof(float);
    return layers * block_size_ * (k_row_ + v_row_) * elem;
}

void kv_cache::copy_rows(std::size_t from, std::size_t to, std::size_t n) noexcept {
    n = std::min(n, block_size_);
    for (std::size_t l = 0; l < k16_.size(); ++l) {
        if (!k16_[l]) continue;
        std::copy_n(k(l, from, 0), n * k_row_, k(l, to, 0));
        std::copy_n(v(l, from, 0), n * v_row_, v(l, to, 0));
    }
    for (std::size_t l = 0; l < k32_.size(); ++l) {
        if (!k32_[l]) continue;
        std::copy_n(k_f32(l, from, 0), n * k_row_, k_f32(l, to, 0));
        std::copy_n(v_f32(l, from, 0), n * v_row_, v_f32(l, to, 0));
    }
}

}  // namespace sluice::engine
