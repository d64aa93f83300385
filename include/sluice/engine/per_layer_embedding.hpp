// gemma4's per-layer embeddings over a batch of rows (the formulas: llm_model.hpp's
// per_layer_input), as llama.cpp computes them: GELU on its half-precision grid and the
// F16 projection's inputs rounded to half precision (llama.cpp converts a float weight's
// activations to its dot type), except in exact mode (kernels::exact_activations), where
// everything stays float. Every product goes through the caller's matmul, and the rest is
// per row, so with a batch-invariant matmul the block is batch-invariant too.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "sluice/engine/llm_model.hpp"
#include "sluice/engine/vocab.hpp"

namespace sluice::engine {

class per_layer_embedding {
public:
    // Y [n x n_out] = W @ X [n x n_in] (the transformer's matmul policy).
    using matmul_fn = std::function<void(const kernels::weight_matrix&, const float*, std::size_t, float*)>;

    per_layer_embedding(const llm_model& m, std::size_t max_batch);

    bool active() const noexcept { return n_pl_ > 0; }
    // The inputs of every layer for rows ids [n] whose scaled token embeddings are x0 [n x n_embd].
    void prepare(std::span<const token_id> ids, const float* x0, const matmul_fn& matmul);
    // x [n x n_embd] (the residual stream after layer l's FFN) += layer l's per-layer term.
    void add(std::size_t l, float* x, const matmul_fn& matmul);

private:
    const llm_model& m_;
    std::size_t n_pl_ = 0, n_ = 0;  // per-layer width; rows prepared
    std::vector<float> inputs_;     // [n x n_layer x n_pl]: row t's input for layer l at (t * n_layer + l) * n_pl
    std::vector<float> proj_;       // [n x n_layer*n_pl] model_proj's output, then [n x n_pl] the gate's
    std::vector<float> out_;        // [n x n_embd]
};

}  // namespace sluice::engine
