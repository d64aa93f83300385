#include "sluice/engine/kv_cache.hpp"

namespace sluice::engine {

kv_cache::kv_cache(const llm_model& m, std::size_t n_ctx, kv_precision precision)
    : n_ctx_(n_ctx),
      k_row_(std::size_t{m.hparams().n_head_kv} * m.hparams().head_dim_k),
      v_row_(std::size_t{m.hparams().n_head_kv} * m.hparams().head_dim_v),
      precision_(precision) {
    for (std::uint32_t l = 0; l < m.hparams().n_layer; ++l) {
        if (precision == kv_precision::f16) {
            k_.emplace_back(n_ctx * k_row_);
            v_.emplace_back(n_ctx * v_row_);
        } else {
            k32_.emplace_back(n_ctx * k_row_);
            v32_.emplace_back(n_ctx * v_row_);
        }
    }
}

std::size_t kv_cache::bytes() const noexcept {
    const std::size_t layers = precision_ == kv_precision::f16 ? k_.size() : k32_.size();
    const std::size_t elem = precision_ == kv_precision::f16 ? sizeof(std::uint16_t) : sizeof(float);
    return layers * n_ctx_ * (k_row_ + v_row_) * elem;
}

}  // namespace sluice::engine
