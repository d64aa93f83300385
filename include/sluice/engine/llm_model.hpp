// A decoder-only transformer loaded from GGUF: hyper-parameters plus views of the
// weights inside the file mapping (matrices are never dequantised in full; only the small
// 1-D norm and bias vectors are converted to float). Quantised matrices are also copied
// once into the integer GEMM's interleaved layout (kernels::pack_weights).
//
// Supported architectures: `llama` (Llama 2/3.x, Mistral, SmolLM2, TinyLlama: RMSNorm,
// SwiGLU, NORM rope, GQA, optional tied output), `qwen2` (+ q/k/v biases, NEOX rope),
// `qwen3` (+ per-head q/k RMSNorm, NEOX rope).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/kernels/matmul.hpp"
#include "sluice/model/gguf_file.hpp"
#include "sluice/model/hparams.hpp"

namespace sluice::engine {

enum class architecture { llama, qwen2, qwen3 };
enum class rope_style { norm, neox };  // rotate pairs (2i, 2i+1) or (i, i + n_rot/2)

struct layer_weights {
    std::vector<float> attn_norm, ffn_norm;           // [n_embd]
    kernels::weight_matrix wq, wk, wv, wo;            // [n_head*hd x n_embd], [n_kv*hd x n_embd] x2, [n_embd x n_head*hd]
    std::vector<float> bq, bk, bv;                    // qwen2 biases (empty otherwise)
    std::vector<float> q_norm, k_norm;                // qwen3 per-head norms [head_dim] (empty otherwise)
    kernels::weight_matrix w_gate, w_up, w_down;      // [n_ff x n_embd] x2, [n_embd x n_ff]
};

class llm_model {
public:
    // Validates every tensor (presence, shape, computable type) and throws sluice::error
    // naming the tensor (and its type) that cannot be used. `file` must outlive the model.
    static std::unique_ptr<llm_model> load(const model::gguf_file& file);

    const model::hyper_params& hparams() const noexcept { return hp_; }
    architecture arch() const noexcept { return arch_; }
    rope_style rope() const noexcept { return rope_; }
    std::uint32_t n_vocab() const noexcept { return n_vocab_; }
    const std::vector<layer_weights>& layers() const noexcept { return layers_; }
    const kernels::weight_matrix& token_embd() const noexcept { return token_embd_; }
    const kernels::weight_matrix& output() const noexcept { return output_; }  // token_embd when tied
    const std::vector<float>& output_norm() const noexcept { return output_norm_; }
    // Per rotated pair i: theta_i = pos * base^(-2i/n_rot) / freq_factors[i].
    const std::vector<float>& rope_freq_factors() const noexcept { return rope_factors_; }
    float rope_position_scale() const noexcept { return rope_pos_scale_; }  // linear scaling
    bool output_tied() const noexcept { return tied_; }

private:
    model::hyper_params hp_;
    architecture arch_ = architecture::llama;
    rope_style rope_ = rope_style::norm;
    std::uint32_t n_vocab_ = 0;
    std::vector<layer_weights> layers_;
    kernels::weight_matrix token_embd_, output_;
    std::vector<float> output_norm_;
    std::vector<float> rope_factors_;
    float rope_pos_scale_ = 1.0f;
    bool tied_ = false;
    // The quantised matrices (and the output, tied or not) in the GEMM's packed layout
    // (kernels::pack_weights); the weight_matrix views point here through `packed`.
    std::vector<std::unique_ptr<std::byte[]>> packed_;
};

}  // namespace sluice::engine
