#include "sluice/engine/sampler.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::engine {

token_id sampler::sample(std::span<float> logits, std::span<const token_id> history) {
    const std::size_t n = logits.size();
    for (const auto& [id, bias] : p_.logit_bias) {
        if (id >= 0 && static_cast<std::size_t>(id) < n) logits[static_cast<std::size_t>(id)] += bias;
    }
    const bool penalties = p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f;
    if (penalties && p_.penalty_last_n != 0) {
        const std::size_t window = p_.penalty_last_n < 0 ? history.size() : std::min<std::size_t>(history.size(), p_.penalty_last_n);
        std::unordered_map<token_id, int> counts;
        for (const token_id t : history.subspan(history.size() - window)) ++counts[t];
        for (const auto& [t, c] : counts) {
            if (t < 0 || static_cast<std::size_t>(t) >= n) continue;
            float& l = logits[static_cast<std::size_t>(t)];
            l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
            l -= static_cast<float>(c) * p_.frequency_penalty + p_.presence_penalty;
        }
    }
    if (p_.temperature <= 0.0f) {
        return static_cast<token_id>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    cand_.clear();
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isfinite(logits[i])) cand_.emplace_back(logits[i], static_cast<token_id>(i));
    }
    if (cand_.empty()) return 0;
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    std::size_t keep = cand_.size();
    if (p_.top_k > 0 && static_cast<std::size_t>(p_.top_k) < keep) keep = static_cast<std::size_t>(p_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(keep), cand_.end(), by_logit);
    cand_.resize(keep);
    // Probabilities at temperature 1 for top-p and min-p (as llama.cpp applies them).
    std::vector<float> probs(keep);
    const float max = cand_.front().first;
    float sum = 0;
    for (std::size_t i = 0; i < keep; ++i) sum += (probs[i] = std::exp(cand_[i].first - max));
    for (auto& p : probs) p /= sum;
    if (p_.top_p < 1.0f) {
        float cum = 0;
        std::size_t cut = keep;
        for (std::size_t i = 0; i < keep; ++i) {
            cum += probs[i];
            if (cum >= p_.top_p) {
                cut = i + 1;
                break;
            }
        }
        keep = cut;
    }
    if (p_.min_p > 0.0f) {
        const float threshold = probs.front() * p_.min_p;
        std::size_t cut = 1;
        while (cut < keep && probs[cut] >= threshold) ++cut;
        keep = cut;
    }
    cand_.resize(keep);
    // Temperature, then draw.
    std::vector<double> w(keep);
    double total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += (w[i] = std::exp((cand_[i].first - max) / p_.temperature));
    std::uniform_real_distribution<double> u(0.0, total);
    double r = u(rng_);
    for (std::size_t i = 0; i < keep; ++i) {
        if ((r -= w[i]) <= 0) return cand_[i].second;
    }
    return cand_.back().second;
}

std::vector<token_logprob> top_logprobs(std::span<const float> logits, std::size_t k) {
    const float max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (const float l : logits) sum += std::exp(static_cast<double>(l - max));
    const float log_z = max + static_cast<float>(std::log(sum));
    k = std::min(k, logits.size());
    std::vector<token_id> idx(logits.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<token_id>(i);
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), [&](token_id a, token_id b) {
        return logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)] ||
               (logits[static_cast<std::size_t>(a)] == logits[static_cast<std::size_t>(b)] && a < b);
    });
    std::vector<token_logprob> out;
    for (std::size_t i = 0; i < k; ++i) out.push_back({idx[i], logits[static_cast<std::size_t>(idx[i])] - log_z});
    return out;
}

}  // namespace sluice::engine
