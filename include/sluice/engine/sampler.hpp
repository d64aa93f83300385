// Token sampling from logits. Order (as llama.cpp's default chain): logit bias,
// repetition/presence/frequency penalties over the last `penalty_last_n` tokens, then
// greedy argmax when temperature <= 0, else top-k -> top-p -> min-p -> temperature ->
// a draw from the sampler's own seeded generator (same seed + inputs = same output).
//
// One sampler per sequence; not thread-safe.
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

private:
    sampling_params p_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, token_id>> cand_;
};

struct token_logprob {
    token_id id;
    float logprob;
};

// The k most likely tokens under log-softmax of `logits`, most likely first.
std::vector<token_logprob> top_logprobs(std::span<const float> logits, std::size_t k);

}  // namespace sluice::engine
