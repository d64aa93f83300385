// The forward pass of a decoder-only transformer over a batch of consecutive tokens
// of one sequence. Runs its matrix products and attention on a thread_pool.
//
// Contract: forward(tokens, cache) processes tokens at positions
// [cache.size(), cache.size() + n), writes their keys and values into the cache and
// advances it. It returns logits for the last token, or for every token when asked
// (teacher forcing). One transformer per thread of control; not thread-safe.
#pragma once

#include <span>
#include <vector>

#include "sluice/engine/kv_cache.hpp"
#include "sluice/engine/llm_model.hpp"
#include "sluice/engine/vocab.hpp"
#include "sluice/util/thread_pool.hpp"

namespace sluice::engine {

class transformer {
public:
    transformer(const llm_model& m, thread_pool& pool, std::size_t max_batch = 512);

    // logits: [n_vocab] for the last token, or [n x n_vocab] when all_logits.
    // Throws sluice::error(out_of_range) when the tokens do not fit the cache or an id is
    // outside the vocabulary.
    void forward(std::span<const token_id> tokens, kv_cache& cache, std::vector<float>& logits, bool all_logits = false);

    const llm_model& model() const noexcept { return m_; }

private:
    void forward_chunk(std::span<const token_id> tokens, kv_cache& cache, float* logits, bool all_logits);
    void attention(std::size_t layer, std::size_t n, std::size_t pos0, kv_cache& cache);
    void apply_rope(float* x, std::size_t n_heads, std::size_t pos) const;

    const llm_model& m_;
    thread_pool& pool_;
    std::size_t max_batch_;
    std::vector<float> theta_base_;  // base^(-2i/n_rot) / freq_factor_i
    // Scratch, sized for max_batch tokens.
    std::vector<float> x_, xn_, q_, k_, v_, attn_, gate_, up_, tmp_;
};

}  // namespace sluice::engine
