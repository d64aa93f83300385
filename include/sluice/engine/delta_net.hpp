// The gated-DeltaNet linear-attention block of qwen35's recurrent layers, as llama.cpp
// computes it (its fused gated_delta_net op, which runs the recurrence token by token).
// Per batch row t, with x = the normalised hidden state [n_embd]:
//   mixed [conv_dim] = ssm_qkv @ x;  z [value_dim] = ssm_z @ x
//   beta [n_v_heads] = sigmoid(ssm_beta @ x);  g = softplus(ssm_alpha @ x + dt) * a   (log decay)
//   c = silu(causal_conv(mixed, the layer's last d_conv - 1 inputs))  -> q | k | v
//   q, k: each head L2-normalised (as llama.cpp: rmsnorm with eps/n, times 1/sqrt(n))
//   per value head h (query/key head h % n_k_heads), state S [head_k x head_v]:
//     S *= exp(g_h);  d = (v_h - S^T k) * beta_h;  S += k d^T;  o_h = S^T q / sqrt(head_v)
//   o_h = rmsnorm(o_h) * ssm_norm * silu(z_h);  out [n_embd] = ssm_out @ o
// A sequence's rows are processed in position order through its state slot, one token at
// a time, so a prompt computed in chunks of any size (or token by token) gives the same
// bits. One delta_net per transformer; not thread-safe.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "sluice/engine/llm_model.hpp"
#include "sluice/engine/recurrent_state.hpp"
#include "sluice/util/thread_pool.hpp"

namespace sluice::engine {

class delta_net {
public:
    // Consecutive batch rows [t0, t1) of one sequence, whose state is in `slot` (the state
    // after the position before row t0).
    struct run {
        std::size_t t0, t1, slot;
    };
    using matmul_fn = std::function<void(const kernels::weight_matrix&, const float*, std::size_t, float*)>;

    delta_net(const llm_model& m, std::size_t max_batch);

    // xn [n x n_embd] -> out [n x n_embd] for model layer `layer` (a recurrent one); advances
    // each run's state slot past its rows. `invariant`: the batch-invariant matmul policy.
    void forward(const layer_weights& w, std::size_t layer, const float* xn, std::size_t n, std::span<const run> runs,
                 recurrent_state& st, float* out, bool invariant, const matmul_fn& matmul, thread_pool& pool);

private:
    void convolve(const layer_weights& w, std::size_t layer, const run& r, recurrent_state& st);
    void recur(std::size_t layer, const run& r, std::size_t h, recurrent_state& st);

    const llm_model& m_;
    std::vector<float> mixed_, z_, beta_, alpha_, conv_, o_;  // scratch, [max_batch x ...]
};

}  // namespace sluice::engine
