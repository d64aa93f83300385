// The mixture-of-experts feed-forward block (qwen3moe), as llama.cpp's build_moe_ffn
// computes it with softmax gating. For one row xn [n_embd]:
//
//   p = softmax(router @ xn)                        [n_expert]
//   S = the n_used most probable experts, most probable first
//   w_s = p_s / sum_{s in S} p_s (norm_weights), then * weights_scale (if not 0 or 1)
//   y = sum_{s in S, in order} w_s * down_s(silu(gate_s @ xn) * (up_s @ xn))   [n_embd]
//
// Batched, the rows routed to each expert are gathered and multiplied together, so every
// expert some row chose is read once per call and the others not at all (a single-token
// decode reads n_used experts). Batch invariance: the router's logits always go through
// kernels::matmul_rows, so a row's experts do not depend on its batch; the experts'
// products go through the caller's matmul, and a row's sum runs in the same order
// whatever shares its batch. So with a batch-invariant matmul, the whole block is.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "sluice/engine/llm_model.hpp"
#include "sluice/util/thread_pool.hpp"

namespace sluice::engine {

struct expert_route {
    std::uint32_t expert = 0;
    float weight = 0.0f;
};

// logits [p.n_expert] -> out [p.n_used]: the chosen experts, most probable first (equal
// probabilities: lower id first), with their weights.
void route_experts(const float* logits, const moe_params& p, expert_route* out);

class moe_ffn {
public:
    // Y [n x n_out] = W @ X [n x n_in] (the transformer's matmul policy).
    using matmul_fn = std::function<void(const kernels::weight_matrix&, const float*, std::size_t, float*)>;

    moe_ffn(const llm_model& m, std::size_t max_batch);

    // y [n x n_embd] = the block of layer w applied to each row of xn [n x n_embd]; n <= max_batch.
    void forward(const layer_weights& w, const float* xn, std::size_t n, float* y, const matmul_fn& matmul, thread_pool& pool);

    // Bytes of expert weights (gate, up, down) read by forward() since construction, each
    // chosen expert counted once per call: what decode actually streams from memory.
    std::uint64_t expert_bytes_read() const noexcept { return bytes_read_; }

private:
    const llm_model& m_;
    std::vector<float> logits_;                     // [n x n_expert]
    std::vector<expert_route> routes_;              // [n x n_used]
    std::vector<std::vector<std::uint32_t>> rows_;  // per expert: (row * n_used + slot) routed to it
    std::vector<float> in_, gate_, up_, down_;      // one expert's gathered rows
    std::vector<float> out_;                        // [n x n_used x n_embd] each slot's expert output
    std::uint64_t bytes_read_ = 0;
};

}  // namespace sluice::engine
