#include "sluice/engine/sampler.hpp"

#include <algorithm>
#include <cmath>

#include "sluice/kernels/softmax.hpp"

namespace sluice::engine {
namespace {

// Candidate order: logit descending, ties by lower id. A strict total order, so selection
// and sorting give the same sequence a full sort would.
// A function object (not a function pointer), so the selections inline it.
struct before_t {
    bool operator()(const std::pair<float, token_id>& a, const std::pair<float, token_id>& b) const noexcept {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    }
};
constexpr before_t before{};

// Below this many, the top-k set is sorted outright and its mass summed in order.
constexpr std::size_t k_first_sort = 256;
// Buckets of logit value for the draw over unsorted candidates.
constexpr std::size_t k_buckets = 4096;

}  // namespace

void sampler::sort_prefix(std::size_t m) {
    m = std::min(m, n_set_);
    if (m <= n_sorted_) return;
    const auto first = cand_.begin() + static_cast<std::ptrdiff_t>(n_sorted_);
    const auto mid = cand_.begin() + static_cast<std::ptrdiff_t>(m);
    const auto last = cand_.begin() + static_cast<std::ptrdiff_t>(n_set_);
    if (mid < last) std::nth_element(first, mid, last, before);
    std::sort(first, mid, before);
    n_sorted_ = m;
}

float sampler::original_logit(std::span<const float> logits, token_id id) const noexcept {
    for (const auto& [t, old] : edits_) {
        if (t == id) return old;  // the first edit recorded the untouched value
    }
    return logits[static_cast<std::size_t>(id)];
}

bool sampler::edits_logits() const noexcept {
    const bool penalties = p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f;
    return !p_.logit_bias.empty() || (penalties && p_.penalty_last_n != 0);
}

token_id sampler::sample(std::span<float> logits, std::span<const token_id> history) {
    const std::size_t n = logits.size();
    edits_.clear();
    for (const auto& [id, bias] : p_.logit_bias) {
        if (id < 0 || static_cast<std::size_t>(id) >= n) continue;
        float& l = logits[static_cast<std::size_t>(id)];
        edits_.emplace_back(id, l);
        l += bias;
    }
    const bool penalties = p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f;
    if (penalties && p_.penalty_last_n != 0) {
        const std::size_t window = p_.penalty_last_n < 0 ? history.size() : std::min<std::size_t>(history.size(), p_.penalty_last_n);
        const auto w = history.subspan(history.size() - window);
        window_.assign(w.begin(), w.end());
        std::sort(window_.begin(), window_.end());
        for (std::size_t i = 0; i < window_.size();) {
            const token_id t = window_[i];
            std::size_t j = i;
            while (j < window_.size() && window_[j] == t) ++j;
            const auto c = static_cast<int>(j - i);
            i = j;
            if (t < 0 || static_cast<std::size_t>(t) >= n) continue;
            float& l = logits[static_cast<std::size_t>(t)];
            edits_.emplace_back(t, l);
            l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
            l -= static_cast<float>(c) * p_.frequency_penalty + p_.presence_penalty;
        }
    }
    if (p_.temperature <= 0.0f) return static_cast<token_id>(kernels::argmax(logits));
    const bool use_p = p_.top_p < 1.0f, use_m = p_.min_p > 0.0f;
    if (!use_p && !use_m && (p_.top_k <= 0 || static_cast<std::size_t>(p_.top_k) >= n)) return draw_uncut(logits);
    cand_.resize(n);  // allocates once per vocabulary size; then written in place
    float max = -INFINITY;
    std::size_t n_cand = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const float l = logits[i];
        if (!std::isfinite(l)) continue;
        cand_[n_cand++] = {l, static_cast<token_id>(i)};
        max = std::max(max, l);
    }
    cand_.resize(n_cand);
    if (cand_.empty()) return 0;
    // The top-k set, unordered, leads.
    n_set_ = cand_.size();
    n_sorted_ = 0;
    if (p_.top_k > 0 && static_cast<std::size_t>(p_.top_k) < n_set_) {
        n_set_ = static_cast<std::size_t>(p_.top_k);
        std::nth_element(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(n_set_), cand_.end(), before);
    }
    // Probabilities at temperature 1 over the set, for top-p and min-p (as llama.cpp applies
    // them). A small set is summed in candidate order; a large one in double, in any order.
    float sum = 0;
    if (!use_p && !use_m) {
        // no cut: the temperature-1 probabilities are not needed
    } else if (n_set_ <= k_first_sort) {
        sort_prefix(n_set_);
        for (std::size_t i = 0; i < n_set_; ++i) sum += std::exp(cand_[i].first - max);
    } else {
        double s = 0;
        for (std::size_t i = 0; i < n_set_; ++i) s += std::exp(cand_[i].first - max);
        sum = static_cast<float>(s);
    }
    // Top-p and min-p each keep a prefix of the ordered candidates: walk it, sorting ahead
    // in doubling steps, until the shorter prefix ends.
    std::size_t keep = n_set_;
    if (use_p || use_m) {
        const float threshold = (1.0f / sum) * p_.min_p;  // probs[0] = exp(0) / sum
        float cum = 0;
        for (std::size_t i = 0; i < n_set_; ++i) {
            if (i >= n_sorted_) sort_prefix(std::max(2 * n_sorted_, k_first_sort));
            const float prob = std::exp(cand_[i].first - max) / sum;
            if (use_m && i > 0 && prob < threshold) {
                keep = i;
                break;
            }
            if (use_p && (cum += prob) >= p_.top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    // Temperature, then draw: the first candidate, in order, where the running sum of the
    // weights reaches r. The sorted prefix is walked one by one; the unsorted rest (no cut
    // at all: top_k 0, top_p 1, min_p 0) goes by buckets of logit value (the mass of each
    // in one pass, then only the bucket where the sum reaches r is sorted), so that case
    // costs O(vocab), not a sort. Weights are recomputed rather than stored.
    auto weight = [&](float l) -> double { return std::exp((l - max) / p_.temperature); };
    const std::size_t n_walk = std::min(n_sorted_, keep);
    double total = 0;
    for (std::size_t i = 0; i < n_walk; ++i) total += weight(cand_[i].first);
    const auto first = cand_.begin() + static_cast<std::ptrdiff_t>(n_walk);
    const auto last = cand_.begin() + static_cast<std::ptrdiff_t>(keep);
    float top = 0, scale = 0;
    auto bucket = [&](float l) { return std::min(k_buckets - 1, static_cast<std::size_t>((top - l) * scale)); };  // 0: highest logits
    if (first != last) {
        const auto [lmin, lmax] = std::minmax_element(first, last, [](const auto& a, const auto& b) { return a.first < b.first; });
        top = lmax->first;
        scale = static_cast<float>(k_buckets - 1) / std::max(top - lmin->first, 1e-30f);
        bucket_sum_.assign(k_buckets, 0.0);
        for (auto it = first; it != last; ++it) bucket_sum_[bucket(it->first)] += weight(it->first);
        for (const double m : bucket_sum_) total += m;
    }
    std::uniform_real_distribution<double> u(0.0, total);
    double r = u(rng_);
    for (std::size_t i = 0; i < n_walk; ++i) {
        if ((r -= weight(cand_[i].first)) <= 0) return cand_[i].second;
    }
    if (first == last) return cand_[keep - 1].second;  // rounding left r above the kept mass
    std::size_t b = 0;
    while (b + 1 < k_buckets && r - bucket_sum_[b] > 0) r -= bucket_sum_[b++];
    // Buckets above b come before it in candidate order (their mass is spent); b's own
    // candidates are sorted and walked.
    const auto mid = std::partition(first, last, [&](const auto& c) { return bucket(c.first) < b; });
    const auto end = std::partition(mid, last, [&](const auto& c) { return bucket(c.first) == b; });
    std::sort(mid, end, before);
    for (auto it = mid; it != end; ++it) {
        if ((r -= weight(it->first)) <= 0) return it->second;
    }
    // Rounding left a sliver of r past bucket b: go on as the plain walk would (rare).
    std::sort(end, last, before);
    for (auto it = end; it != last; ++it) {
        if ((r -= weight(it->first)) <= 0) return it->second;
    }
    return (last - 1)->second;
}

token_id sampler::draw_uncut(std::span<const float> logits) {
    const float max = kernels::max_finite(logits);
    if (max == -INFINITY) return 0;  // nothing finite to draw from
    weight_.resize(logits.size());   // allocates once per vocabulary size
    const double total = kernels::exp_sum(logits, max, 1.0f / p_.temperature, weight_.data());
    std::uniform_real_distribution<double> u(0.0, total);
    const std::size_t i = kernels::weighted_pick(weight_, u(rng_));
    if (i < weight_.size()) return static_cast<token_id>(i);
    for (std::size_t j = weight_.size(); j-- > 0;) {  // rounding left r above the summed mass
        if (weight_[j] > 0.0f) return static_cast<token_id>(j);
    }
    return 0;
}

log_normalizer log_softmax_normalizer(std::span<const float> logits) {
    const float max = kernels::max_finite(logits);
    const double sum = kernels::exp_sum(logits, max, 1.0f, nullptr);
    return {max, max + static_cast<float>(std::log(sum))};
}

std::vector<token_logprob> top_logprobs(std::span<const float> logits, std::size_t k) {
    return top_logprobs(logits, k, log_softmax_normalizer(logits));
}

std::vector<token_logprob> top_logprobs(std::span<const float> logits, std::size_t k, const log_normalizer& z) {
    k = std::min(k, logits.size());
    std::vector<token_logprob> out;  // the best k so far, in order; logprob holds the logit until the end
    if (k == 0) return out;
    out.reserve(k + 1);
    auto better = [](const token_logprob& a, const token_logprob& b) { return a.logprob > b.logprob || (a.logprob == b.logprob && a.id < b.id); };
    for (std::size_t i = 0; i < logits.size(); ++i) {
        if (out.size() == k) {  // full: skip ahead to the next logit that can enter
            i += kernels::find_at_least(logits.subspan(i), out.back().logprob);
            if (i == logits.size()) break;
        }
        const token_logprob c{static_cast<token_id>(i), logits[i]};
        if (out.size() == k && !better(c, out.back())) continue;
        out.insert(std::upper_bound(out.begin(), out.end(), c, better), c);
        if (out.size() > k) out.pop_back();
    }
    for (auto& t : out) t.logprob -= z.log_z;
    return out;
}

}  // namespace sluice::engine
