#include "sluice/engine/per_layer_embedding.hpp"

#include <cmath>

#include "activations.hpp"
#include "rms_norm.hpp"
#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/quantize.hpp"

namespace sluice::engine {

per_layer_embedding::per_layer_embedding(const llm_model& m, std::size_t max_batch) : m_(m), n_pl_(m.per_layer().n) {
    if (n_pl_ == 0) return;
    const std::size_t n_layer = m.layers().size();
    inputs_.resize(max_batch * n_layer * n_pl_);
    proj_.resize(max_batch * n_layer * n_pl_);
    out_.resize(max_batch * m.hparams().n_embd);
}

void per_layer_embedding::prepare(std::span<const token_id> ids, const float* x0, const matmul_fn& matmul) {
    const auto& pl = m_.per_layer();
    const auto& hp = m_.hparams();
    const std::size_t width = m_.layers().size() * n_pl_;
    n_ = ids.size();
    // p [n x n_layer*n_pl] = model_proj @ x0
    matmul(pl.model_proj, x0, n_, proj_.data());
    const float proj_scale = 1.0f / std::sqrt(static_cast<float>(hp.n_embd));
    const float embd_scale = std::sqrt(static_cast<float>(n_pl_));
    const float input_scale = 1.0f / std::sqrt(2.0f);
    for (std::size_t t = 0; t < n_; ++t) {
        float* in = &inputs_[t * width];
        const auto* row = static_cast<const std::byte*>(pl.token_embd.data) + static_cast<std::size_t>(ids[t]) * pl.token_embd.row_bytes;
        kernels::dequantize_row(pl.token_embd.type, row, in, width);
        float* p = &proj_[t * width];
        for (std::size_t i = 0; i < width; ++i) p[i] *= proj_scale;
        for (std::size_t l = 0; l < width; l += n_pl_) rms_norm(p + l, pl.proj_norm.data(), p + l, n_pl_, hp.rms_eps);
        for (std::size_t i = 0; i < width; ++i) in[i] = (p[i] + in[i] * embd_scale) * input_scale;
    }
}

void per_layer_embedding::add(std::size_t l, float* x, const matmul_fn& matmul) {
    const auto& w = m_.layers()[l];
    const auto& hp = m_.hparams();
    const std::size_t width = m_.layers().size() * n_pl_, n_embd = hp.n_embd;
    const bool exact = kernels::exact_activations();
    const bool f16_inputs = !exact && w.pl_proj.type == kernels::ggml_type::f16;
    // g [n x n_pl] = gelu(gate @ x) * in_l
    float* g = proj_.data();
    matmul(w.pl_gate, x, n_, g);
    for (std::size_t t = 0; t < n_; ++t) {
        const float* in = &inputs_[t * width + l * n_pl_];
        for (std::size_t i = 0; i < n_pl_; ++i) {
            const float a = g[t * n_pl_ + i];
            float v = (exact ? gelu_tanh(a) : gelu_fp16(a)) * in[i];
            if (f16_inputs) v = kernels::fp16_to_fp32(kernels::fp32_to_fp16(v));
            g[t * n_pl_ + i] = v;
        }
    }
    // x += rmsnorm(proj @ g) * post_norm
    matmul(w.pl_proj, g, n_, out_.data());
    for (std::size_t t = 0; t < n_; ++t) {
        float* o = &out_[t * n_embd];
        rms_norm(o, w.pl_post_norm.data(), o, n_embd, hp.rms_eps);
        for (std::size_t i = 0; i < n_embd; ++i) x[t * n_embd + i] += o[i];
    }
}

}  // namespace sluice::engine
