// The forward pass of a decoder-only transformer over a batch of tokens, which may
// belong to several sequences. Runs its matrix products and attention on a thread_pool.
//
// Contract: forward_batch processes, for every batch_sequence, its tokens at positions
// [pos0, pos0 + n) of that sequence: it writes their keys and values into the sequence's
// cache blocks and attends over positions [0, p] of the same sequence only. Logits come
// out for the last n_logits tokens of each sequence, in batch order. Models with recurrent
// layers (qwen35) also run each sequence's tokens in order through its recurrent-state slot
// (batch_sequence::state_slot, which must hold the state after position pos0 - 1; cleared
// here when pos0 == 0), so a sequence can continue only from where its slot left off.
// forward() is the single-sequence form over a cache's single_table() (and ring) and state
// slot 0. Sliding-window layers attend over positions [p + 1 - window, p] only, so their rows
// may live in the cache's sliding pool (kv_cache::locate), behind-the-window ones gone.
// One transformer per thread of control; not thread-safe.
//
// Matmul policy: `batch_invariant` computes every row with the same integer dots as a
// lone token (kernels::matmul_rows), so a sequence's numbers do not depend on what shares
// its batch or how its prompt was split -- the scheduler's determinism rests on it.
// `fastest` (kernels::matmul) is the same integer GEMM for Q4_0/Q5_0/Q8_0/Q4_K/Q6_K and
// sends multi-token batches of other types through sgemm.
#pragma once

#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "sluice/engine/delta_net.hpp"
#include "sluice/engine/kv_cache.hpp"
#include "sluice/engine/llm_model.hpp"
#include "sluice/engine/moe_ffn.hpp"
#include "sluice/engine/per_layer_embedding.hpp"
#include "sluice/engine/vocab.hpp"
#include "sluice/util/thread_pool.hpp"

namespace sluice::engine {

enum class matmul_policy { fastest, batch_invariant };

struct batch_sequence {
    std::span<const token_id> tokens;      // at positions [pos0, pos0 + tokens.size())
    std::size_t pos0 = 0;
    std::span<const std::uint32_t> blocks;  // block table covering [0, pos0 + tokens.size())
    std::size_t n_logits = 0;               // logits for this many trailing tokens
    // Models with recurrent layers: the sequence's slot in the cache's recurrent_state,
    // holding the state after position pos0 - 1 (cleared by forward_batch when pos0 == 0).
    std::uint32_t state_slot = 0;
    // A cache with a sliding pool (kv_cache::has_sliding_pool): the sequence's table of
    // sliding blocks covering [0, pos0 + tokens.size()) -- entries for blocks wholly behind
    // every query's window (p + window <= pos0) are never read -- or the single view's ring.
    std::span<const std::uint32_t> swa_blocks = {};
};

class transformer {
public:
    transformer(const llm_model& m, thread_pool& pool, std::size_t max_batch = 512,
                matmul_policy policy = matmul_policy::fastest);

    // logits: [n_vocab] for the last token, or [n x n_vocab] when all_logits. Advances the
    // cache's single-sequence view. Throws sluice::error(out_of_range) when the tokens do
    // not fit the cache or an id is outside the vocabulary.
    void forward(std::span<const token_id> tokens, kv_cache& cache, std::vector<float>& logits, bool all_logits = false);

    // At most max_batch() tokens in all. logits: [sum of n_logits x n_vocab], in order.
    // Throws sluice::error(out_of_range) for an id outside the vocabulary or a position
    // beyond a sequence's block table.
    void forward_batch(std::span<const batch_sequence> seqs, kv_cache& cache, float* logits);

    const llm_model& model() const noexcept { return m_; }
    // Mixture-of-experts models: expert weight bytes read so far (moe_ffn::expert_bytes_read).
    std::uint64_t expert_bytes_read() const noexcept { return moe_.expert_bytes_read(); }
    std::size_t max_batch() const noexcept { return max_batch_; }
    // For the passes that follow (a speculating generator verifies with batch_invariant).
    void set_matmul_policy(matmul_policy p) noexcept { policy_ = p; }

private:
    struct row_ref {  // batch row t: which sequence, which position
        const batch_sequence* seq;
        std::size_t pos;
    };
    void check(std::span<const batch_sequence> seqs, const kv_cache& cache) const;
    void attention_block(const layer_weights& w, std::size_t layer, std::size_t n, kv_cache& cache);
    void recurrent_block(const layer_weights& w, std::size_t layer, std::size_t n, kv_cache& cache);
    void attention(std::size_t layer, std::size_t n, kv_cache& cache);
    void attention_f16_sequential(std::size_t layer, std::size_t n, kv_cache& cache);
    void store_kv(std::size_t layer, std::size_t t, kv_cache& cache, const float* k, const float* v);
    void prepare_rope();
    void apply_rope(float* x, std::size_t n_heads, std::size_t head_dim, std::size_t t, bool local) const;  // t: batch row
    void matmul(const kernels::weight_matrix& w, const float* x, std::size_t n, float* y);
    void feed_forward(const layer_weights& w, std::size_t n);  // xn_ -> tmp_ [n x n_embd]
    void qkv(std::size_t layer, std::size_t n, kv_cache& cache);  // xn_ -> q_, and the layer's K and V into the cache
    void layer_output(std::size_t layer, std::size_t n);  // gemma4: x_ += the per-layer embedding term, x_ *= output scale
    void residual_then_norm(const std::vector<float>& post_weight, const std::vector<float>& norm_weight, std::size_t t,
                            bool norm = true);
    void for_rows(std::size_t n, const std::function<void(std::size_t)>& fn);

    const llm_model& m_;
    thread_pool& pool_;
    std::size_t max_batch_;
    matmul_policy policy_;
    // gemma4's outputs react to rounding strongly (unscaled attention over RMS-normalised q
    // and k, logits soft-capped at 100 rather than squeezed): for it the pass reproduces
    // llama.cpp's CPU arithmetic where sluice otherwise keeps its own -- the rope angles as
    // ggml chains them, and flash attention's half-precision accumulator (f16 cache, not in
    // exact mode). Other architectures keep theirs (bit for bit as before).
    bool ggml_arith_ = false;
    struct rope_table {
        const rope_params* params = nullptr;
        std::vector<float> theta_base;                // base^(-2i/n_rot) / freq_factor_i
        std::vector<std::pair<float, float>> cos_sin;  // [n x n_rot/2] per batch row
    };
    rope_table rope_global_, rope_local_;  // full-attention layers, sliding-window layers
    std::vector<row_ref> rows_;
    std::vector<std::pair<std::size_t, std::size_t>> attn_runs_;  // [t0, t1) batch rows per attention task
    // Scratch, sized for max_batch tokens.
    std::vector<float> x_, xn_, q_, k_, v_, attn_, gate_, up_, tmp_;
    std::vector<float> qg_, attn_gate_;  // gated attention: [n x 2*q_dim] projection, [n x q_dim] gates
    moe_ffn moe_;
    delta_net dnet_;
    std::vector<delta_net::run> dnet_runs_;
    per_layer_embedding per_layer_;
    std::vector<token_id> ids_;  // the batch's tokens, row order
};

}  // namespace sluice::engine
