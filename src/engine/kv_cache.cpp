#include "sluice/engine/kv_cache.hpp"

namespace sluice::engine {

kv_cache::kv_cache(const llm_model& m, std::size_t n_ctx)
    : n_ctx_(n_ctx),
      k_row_(std::size_t{m.hparams().n_head_kv} * m.hparams().head_dim_k),
      v_row_(std::size_t{m.hparams().n_head_kv} * m.hparams().head_dim_v) {
    for (std::uint32_t l = 0; l < m.hparams().n_layer; ++l) {
        k_.emplace_back(n_ctx * k_row_);
        v_.emplace_back(n_ctx * v_row_);
    }
}

std::size_t kv_cache::bytes() const noexcept { return k_.size() * n_ctx_ * (k_row_ + v_row_) * sizeof(std::uint16_t); }

}  // namespace sluice::engine
