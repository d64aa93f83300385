#include "sluice/engine/kv_cache.hpp"

#include <algorithm>

#include "sluice/util/error.hpp"

namespace sluice::engine {
namespace {

bool has_sliding_layers(const llm_model& m) {
    return m.sliding_window() > 0 && std::any_of(m.layers().begin(), m.layers().end(), [](const auto& l) { return l.sliding && !l.recurrent; });
}

// Rows of the single view's ring: the window behind the first position of a pass, plus the pass.
std::size_t ring_rows(const llm_model& m, std::size_t n_ctx, std::size_t sliding_chunk) {
    if (sliding_chunk == 0 || !has_sliding_layers(m)) return 0;
    const std::size_t rows = m.sliding_window() - 1 + sliding_chunk;
    return rows < n_ctx ? rows : 0;
}

}  // namespace

kv_cache::kv_cache(const llm_model& m, std::size_t n_ctx, kv_precision precision, std::size_t sliding_chunk)
    : kv_cache(m, kv_blocks{1, n_ctx}, precision, ring_rows(m, n_ctx, sliding_chunk)) {}

kv_cache::kv_cache(const llm_model& m, kv_blocks blocks, kv_precision precision) : kv_cache(m, blocks, precision, 0) {}

// ring > 0: the single view with a ring of that many rows for the sliding layers.
kv_cache::kv_cache(const llm_model& m, kv_blocks blocks, kv_precision precision, std::size_t ring)
    : n_blocks_(blocks.count),
      block_size_(blocks.size),
      precision_(precision),
      state_(m, m.has_recurrent_layers() ? blocks.state_slots : 0) {
    if (blocks.count == 0 || blocks.size == 0) throw error(errc::invalid_argument, "the KV cache needs at least one position");
    max_chunk_ = blocks.size;
    std::size_t swa_rows_per_block = blocks.size;
    if (ring > 0) {
        ring_ = true;
        swa_blocks_ = 1;
        swa_rows_per_block = ring;
        max_chunk_ = ring + 1 - m.sliding_window();
    } else if (blocks.swa_count > 0 && has_sliding_layers(m)) {
        swa_blocks_ = blocks.swa_count;
    }
    const auto& layers = m.layers();
    slots_.resize(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto& w = layers[l];
        if (w.recurrent) {  // no keys or values: an empty slot keeps the layer numbering
            slots_[l] = {0, 0, 0, false, false, block_size_};
            continue;
        }
        if (w.kv_source != l) {  // a shared-KV layer: its source (an earlier layer, of its kind) has a slot already
            slots_[l] = slots_[w.kv_source];
            slots_[l].owner = false;
            continue;
        }
        const bool sliding = w.sliding && swa_blocks_ > 0;
        const std::size_t per_block = sliding ? swa_rows_per_block : block_size_;
        const std::size_t rows = (sliding ? swa_blocks_ : n_blocks_) * per_block;
        const std::size_t k_row = std::size_t{w.n_head_kv} * w.head_dim_k, v_row = std::size_t{w.n_head_kv} * w.head_dim_v;
        if (precision == kv_precision::f16) {
            slots_[l] = {k16_.size(), k_row, v_row, true, sliding, per_block};
            k16_.emplace_back(new std::uint16_t[rows * k_row]);
            v16_.emplace_back(new std::uint16_t[rows * v_row]);
        } else {
            slots_[l] = {k32_.size(), k_row, v_row, true, sliding, per_block};
            k32_.emplace_back(new float[rows * k_row]);
            v32_.emplace_back(new float[rows * v_row]);
        }
    }
}

std::size_t kv_cache::block_bytes(const llm_model& m, std::size_t block_size, kv_precision precision, kv_layers which) noexcept {
    const std::size_t elem = precision == kv_precision::f16 ? sizeof(std::uint16_t) : sizeof(float);
    std::size_t per_row = 0;
    for (std::size_t l = 0; l < m.layers().size(); ++l) {
        const auto& w = m.layers()[l];
        if (w.kv_source != l || w.recurrent) continue;
        const bool sliding = w.sliding && m.sliding_window() > 0;
        if ((which == kv_layers::full && sliding) || (which == kv_layers::sliding && !sliding)) continue;
        per_row += std::size_t{w.n_head_kv} * (std::size_t{w.head_dim_k} + w.head_dim_v);
    }
    return block_size * per_row * elem;
}

std::size_t kv_cache::pool_bytes(bool sliding) const noexcept {
    const std::size_t elem = precision_ == kv_precision::f16 ? sizeof(std::uint16_t) : sizeof(float);
    std::size_t bytes = 0;
    for (const auto& s : slots_) bytes += s.owner && s.sliding == sliding ? (s.k_row + s.v_row) * s.rows_per_block : 0;
    return bytes * elem;
}

std::size_t kv_cache::block_bytes() const noexcept { return pool_bytes(false); }

std::size_t kv_cache::swa_block_bytes() const noexcept { return swa_blocks_ > 0 ? pool_bytes(true) : 0; }

void kv_cache::copy_rows(std::size_t from, std::size_t to, std::size_t n) noexcept {
    n = std::min(n, block_size_);
    for (std::size_t l = 0; l < slots_.size(); ++l) {
        // A shared-KV layer (its source's rows are copied once), a recurrent one, or one in the sliding pool.
        if (!slots_[l].owner || slots_[l].sliding) continue;
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
