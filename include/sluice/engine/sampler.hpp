// Token sampling from logits. Order (as llama.cpp's default chain): logit bias,
// repetition/presence/frequency penalties over the last `penalty_last_n` tokens, then
// greedy argmax when temperature <= 0, else top-k -> top-p -> min-p -> temperature ->
// a draw from the sampler's own seeded generator (same seed + inputs = same output).
//
// Cost: O(vocab) per token plus a sort of only the candidates the cuts and the draw reach
// (top-k by selection; top-p / min-p / the draw grow a sorted prefix geometrically). The
// buffers live in the sampler, so a token allocates nothing once they have grown.
// Candidate order is by logit descending, ties by lower id (as a full sort would give),
// with one exception: when nothing is cut (top_k off or >= vocabulary, top_p 1, min_p 0)
// the draw walks every finite logit in id order, its weights exp((l - max) / T) from
// kernels::exp_sum (vectorised; the same distribution, without ordering anything).
//
// One sampler per sequence; not thread-safe (distinct samplers may run on distinct threads).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

#include "sluice/engine/vocab.hpp"

namespace sluice::engine {

struct sampling_params {
    float temperature = 0.8f;       // 0 = greedy
    int top_k = 40;                 // <= 0: off
    float top_p = 0.95f;            // 1: off
    float min_p = 0.05f;            // 0: off
    float repeat_penalty = 1.0f;    // 1: off
    int penalty_last_n = 64;        // window for the three penalties (-1: whole history)
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::unordered_map<token_id, float> logit_bias;  // added to the logit; -inf bans
    std::uint64_t seed = 0;
};

class sampler {
public:
    explicit sampler(sampling_params p) : p_(std::move(p)), rng_(p_.seed) {}

    // history: the sequence so far (prompt and generated tokens) for the penalties.
    // `logits` is modified in place.
    token_id sample(std::span<float> logits, std::span<const token_id> history);

    const sampling_params& params() const noexcept { return p_; }

    // The value logits[id] had before the last sample() edited it (bias, penalties); `logits`
    // is the span that sample() edited.
    float original_logit(std::span<const float> logits, token_id id) const noexcept;
    // Whether sample() writes to `logits` (a logit bias or a penalty is set); when it does
    // not, other readers of the same logits may run beside it.
    bool edits_logits() const noexcept;

private:
    // Sorts the candidates so that cand_[0, m) (m capped at the kept set) is the top m in order.
    void sort_prefix(std::size_t m);
    // The draw when nothing is cut: over all finite logits, in id order.
    token_id draw_uncut(std::span<const float> logits);

    sampling_params p_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, token_id>> cand_;  // finite logits; the kept set leads
    std::size_t n_set_ = 0;                         // the top-k set: cand_[0, n_set_)
    std::size_t n_sorted_ = 0;                      // cand_[0, n_sorted_) is in final order
    std::vector<double> bucket_sum_;                // the draw's mass per bucket of logit value
    std::vector<float> weight_;                     // draw_uncut's weights, one per token
    std::vector<token_id> window_;                  // penalty window, sorted to count repeats
    std::vector<std::pair<token_id, float>> edits_; // (id, value before) of each edit in sample()
};

struct token_logprob {
    token_id id;
    float logprob;
};

// The largest finite logit and log Z = max + log sum exp(l - max) (kernels::exp_sum: sluice's
// exp, summed in double; non-finite logits count as 0).
struct log_normalizer {
    float max;
    float log_z;
};
log_normalizer log_softmax_normalizer(std::span<const float> logits);

// The k most likely tokens under log-softmax of `logits`, most likely first (ties: lower id).
// One pass for the normalizer (skipped when given) and one selection pass keeping k entries;
// no vocabulary-sized buffer.
std::vector<token_logprob> top_logprobs(std::span<const float> logits, std::size_t k);
std::vector<token_logprob> top_logprobs(std::span<const float> logits, std::size_t k, const log_normalizer& z);

}  // namespace sluice::engine
