#include "sluice/engine/sampler.hpp"

#include "sluice/engine/logit_bias.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/kernels/softmax.hpp"
#include "sluice/util/error.hpp"
#include "support/tiny_vocabs.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <array>
#include <limits>
#include <map>
#include <random>
#include <set>

namespace {

using namespace sluice::engine;
namespace kernels = sluice::kernels;

std::vector<float> logits() { return {1.0f, 3.0f, 2.5f, -1.0f, 2.9f, 0.0f}; }

TEST(sampler, temperature_zero_is_argmax) {
    sampling_params p;
    p.temperature = 0;
    sampler s(p);
    auto l = logits();
    EXPECT_EQ(s.sample(l, {}), 1);
}

TEST(sampler, same_seed_same_tokens_and_top_k_one_is_greedy) {
    sampling_params p;
    p.temperature = 1.5f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 1234;
    sampler a(p), b(p);
    std::vector<token_id> ta, tb;
    for (int i = 0; i < 50; ++i) {
        auto la = logits(), lb = logits();
        ta.push_back(a.sample(la, {}));
        tb.push_back(b.sample(lb, {}));
    }
    EXPECT_EQ(ta, tb);
    EXPECT_GT(std::set<token_id>(ta.begin(), ta.end()).size(), 2u);  // hot enough to vary
    p.top_k = 1;
    sampler g(p);
    for (int i = 0; i < 20; ++i) {
        auto l = logits();
        EXPECT_EQ(g.sample(l, {}), 1);
    }
}

TEST(sampler, min_p_and_top_p_cut_the_tail) {
    sampling_params p;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.5f;  // keeps tokens with p >= 0.5 * p_max: ids 1, 4 and 2
    p.seed = 7;
    sampler s(p);
    for (int i = 0; i < 200; ++i) {
        auto l = logits();
        const auto t = s.sample(l, {});
        EXPECT_TRUE(t == 1 || t == 4 || t == 2) << t;
    }
    p.min_p = 0.0f;
    p.top_p = 0.3f;  // the top token alone has p > 0.3
    sampler q(p);
    for (int i = 0; i < 50; ++i) {
        auto l = logits();
        EXPECT_EQ(q.sample(l, {}), 1);
    }
}

TEST(sampler, logit_bias_and_penalties) {
    sampling_params p;
    p.temperature = 0;
    p.logit_bias[1] = -INFINITY;  // ban the best token
    sampler s(p);
    auto l = logits();
    EXPECT_EQ(s.sample(l, {}), 4);

    sampling_params r;
    r.temperature = 0;
    r.repeat_penalty = 2.0f;  // 3.0 -> 1.5 for token 1, seen in the window
    sampler rep(r);
    auto l2 = logits();
    const std::vector<token_id> history{1};
    EXPECT_EQ(rep.sample(l2, history), 4);

    sampling_params f;
    f.temperature = 0;
    f.frequency_penalty = 0.3f;  // token 1 seen twice: 3.0 - 0.6 < 2.9
    sampler freq(f);
    auto l3 = logits();
    const std::vector<token_id> twice{1, 1};
    EXPECT_EQ(freq.sample(l3, twice), 4);
}

TEST(sampler, top_logprobs_are_a_normalised_log_softmax) {
    const auto l = logits();
    const auto top = top_logprobs(l, l.size());
    ASSERT_EQ(top.size(), l.size());
    EXPECT_EQ(top[0].id, 1);
    EXPECT_EQ(top[1].id, 4);
    double sum = 0;
    for (const auto& t : top) sum += std::exp(static_cast<double>(t.logprob));
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(top_logprobs(l, 2).size(), 2u);
}

}  // namespace

namespace {

class logit_bias_spec : public ::testing::Test {
protected:
    std::vector<std::byte> bytes_ = sluice::test::tiny_spm_vocab();
    tokenizer tok_ = tokenizer::from_gguf(sluice::model::gguf_file::parse(bytes_));
    const vocab& v() const { return tok_.get_vocab(); }
};

TEST_F(logit_bias_spec, ids_texts_signs_and_bans) {
    EXPECT_EQ(parse_logit_bias("2+1", v()), std::make_pair(token_id{2}, 1.0f));
    EXPECT_EQ(parse_logit_bias("2-1.5", v()), std::make_pair(token_id{2}, -1.5f));
    EXPECT_EQ(parse_logit_bias("<|user|>+4", v()), std::make_pair(v().find("<|user|>"), 4.0f));
    EXPECT_EQ(parse_logit_bias("</s>+1e-1", v()), std::make_pair(token_id{2}, 0.1f));
    const auto ban = parse_logit_bias("ab-inf", v());
    EXPECT_EQ(ban.first, v().find("ab"));
    EXPECT_EQ(ban.second, -INFINITY);
    // A token text holding the separator: the first split whose sides both parse.
    EXPECT_EQ(parse_logit_bias(",-2", v()), std::make_pair(v().find(","), -2.0f));
}

TEST_F(logit_bias_spec, refuses_what_does_not_parse) {
    for (const char* bad : {"", "2", "+1", "2+", "2+x", "2+inf", "2+nan", "99999+1", "nosuchtoken+1", "2 +1"}) {
        EXPECT_THROW(parse_logit_bias(bad, v()), sluice::error) << bad;
    }
}

}  // namespace

// --- The selection-based sampler against the straightforward one it replaced ---------------
namespace reference {

// The sampler as it was: full candidate list, partial_sort to top-k (a full sort for top_k 0),
// per-token buffers. Kept here as the oracle for candidate order and the draw.
token_id sample(const sampling_params& p, std::mt19937_64& rng, std::span<float> logits, std::span<const token_id> history) {
    const std::size_t n = logits.size();
    for (const auto& [id, bias] : p.logit_bias) {
        if (id >= 0 && static_cast<std::size_t>(id) < n) logits[static_cast<std::size_t>(id)] += bias;
    }
    const bool penalties = p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
    if (penalties && p.penalty_last_n != 0) {
        const std::size_t window = p.penalty_last_n < 0 ? history.size() : std::min<std::size_t>(history.size(), p.penalty_last_n);
        std::map<token_id, int> counts;
        for (const token_id t : history.subspan(history.size() - window)) ++counts[t];
        for (const auto& [t, c] : counts) {
            if (t < 0 || static_cast<std::size_t>(t) >= n) continue;
            float& l = logits[static_cast<std::size_t>(t)];
            l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
            l -= static_cast<float>(c) * p.frequency_penalty + p.presence_penalty;
        }
    }
    if (p.temperature <= 0.0f) return static_cast<token_id>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if ((p.top_k <= 0 || static_cast<std::size_t>(p.top_k) >= n) && p.top_p >= 1.0f && p.min_p <= 0.0f) {
        // Nothing cut: every finite logit in id order, with the kernel's weights.
        float max = -std::numeric_limits<float>::infinity();
        for (const float l : logits) {
            if (std::isfinite(l)) max = std::max(max, l);
        }
        if (!std::isfinite(max)) return 0;
        std::vector<float> w(n);
        const double total = kernels::exp_sum(logits, max, 1.0f / p.temperature, w.data());
        std::uniform_real_distribution<double> u(0.0, total);
        double r = u(rng);
        token_id last = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (!std::isfinite(logits[i]) || w[i] == 0.0f) continue;
            last = static_cast<token_id>(i);
            if ((r -= w[i]) <= 0) return last;
        }
        return last;
    }
    std::vector<std::pair<float, token_id>> cand;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isfinite(logits[i])) cand.emplace_back(logits[i], static_cast<token_id>(i));
    }
    if (cand.empty()) return 0;
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    std::size_t keep = cand.size();
    if (p.top_k > 0 && static_cast<std::size_t>(p.top_k) < keep) keep = static_cast<std::size_t>(p.top_k);
    std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(keep), cand.end(), by_logit);
    cand.resize(keep);
    std::vector<float> probs(keep);
    const float max = cand.front().first;
    float sum = 0;
    for (std::size_t i = 0; i < keep; ++i) sum += (probs[i] = std::exp(cand[i].first - max));
    for (auto& q : probs) q /= sum;
    if (p.top_p < 1.0f) {
        float cum = 0;
        std::size_t cut = keep;
        for (std::size_t i = 0; i < keep; ++i) {
            cum += probs[i];
            if (cum >= p.top_p) {
                cut = i + 1;
                break;
            }
        }
        keep = cut;
    }
    if (p.min_p > 0.0f) {
        const float threshold = probs.front() * p.min_p;
        std::size_t cut = 1;
        while (cut < keep && probs[cut] >= threshold) ++cut;
        keep = cut;
    }
    cand.resize(keep);
    std::vector<double> w(keep);
    double total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += (w[i] = std::exp((cand[i].first - max) / p.temperature));
    std::uniform_real_distribution<double> u(0.0, total);
    double r = u(rng);
    for (std::size_t i = 0; i < keep; ++i) {
        if ((r -= w[i]) <= 0) return cand[i].second;
    }
    return cand.back().second;
}

}  // namespace reference

TEST(sampler, matches_the_full_sort_reference_over_random_logits_and_settings) {
    std::mt19937_64 gen(20261130);
    const float inf = std::numeric_limits<float>::infinity();
    int checked = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const std::size_t n = std::uniform_int_distribution<std::size_t>(1, trial % 10 == 0 || trial % 6 == 5 ? 5000 : 600)(gen);
        sampling_params p;
        p.seed = gen();
        const int kind = trial % 6;
        p.temperature = kind == 0 ? 0.0f : std::uniform_real_distribution<float>(0.2f, 2.0f)(gen);
        p.top_k = std::array{0, 0, 1, 5, 40, 300}[gen() % 6];
        p.top_p = gen() % 2 ? 1.0f : std::uniform_real_distribution<float>(0.05f, 0.99f)(gen);
        p.min_p = gen() % 2 ? 0.0f : std::uniform_real_distribution<float>(0.001f, 0.3f)(gen);
        if (kind == 5) p.top_p = 1.0f, p.min_p = 0.0f;  // top_k 0 + no cuts: the draw walks everything
        if (gen() % 3 == 0) {
            p.repeat_penalty = 1.3f;
            p.presence_penalty = 0.5f;
            p.frequency_penalty = 0.2f;
            p.penalty_last_n = gen() % 2 ? -1 : 16;
        }
        for (int b = 0; b < 4 && gen() % 2; ++b) p.logit_bias[static_cast<token_id>(gen() % n)] = b % 2 ? -inf : 2.0f;
        std::vector<token_id> history;
        for (int h = 0; h < 40; ++h) history.push_back(static_cast<token_id>(gen() % n));
        const float spread = std::uniform_real_distribution<float>(0.5f, 12.0f)(gen);
        sampler s(p);
        std::mt19937_64 ref_rng(p.seed);
        for (int tok = 0; tok < 8; ++tok) {
            std::vector<float> l(n);
            for (auto& x : l) x = std::normal_distribution<float>(0.0f, spread)(gen);
            if (trial % 7 == 0) for (std::size_t i = 0; i < n; i += 3) l[i] = std::round(l[i]);  // ties
            auto mine = l, theirs = l;
            const token_id a = s.sample(mine, history);
            const token_id b = reference::sample(p, ref_rng, theirs, history);
            ASSERT_EQ(a, b) << "trial " << trial << " token " << tok << " n " << n << " top_k " << p.top_k << " top_p " << p.top_p << " min_p " << p.min_p;
            for (const token_id id : {a, static_cast<token_id>(0), static_cast<token_id>(n - 1)}) EXPECT_EQ(s.original_logit(mine, id), l[static_cast<std::size_t>(id)]);
            history.push_back(a);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 300 * 8);
}

// The uncut draw (id order, vectorised weights) samples softmax(l / T): frequencies over
// 60,000 draws within 4 standard deviations of the probabilities, banned tokens never.
TEST(sampler, uncut_draw_follows_the_softmax) {
    sampling_params p;
    p.temperature = 0.8f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 99;
    p.logit_bias[3] = -std::numeric_limits<float>::infinity();
    sampler s(p);
    const auto base = logits();
    std::vector<double> prob(base.size());
    double z = 0;
    for (std::size_t i = 0; i < base.size(); ++i) z += prob[i] = i == 3 ? 0.0 : std::exp(base[i] / 0.8);
    constexpr int draws = 60000;
    std::vector<int> count(base.size());
    for (int d = 0; d < draws; ++d) {
        auto l = base;
        ++count[static_cast<std::size_t>(s.sample(l, {}))];
    }
    EXPECT_EQ(count[3], 0);
    for (std::size_t i = 0; i < base.size(); ++i) {
        const double q = prob[i] / z, sd = std::sqrt(draws * q * (1 - q));
        EXPECT_NEAR(count[i], draws * q, 4 * sd + 1) << "token " << i;
    }
}

TEST(sampler, top_logprobs_select_what_a_full_sort_would) {
    std::mt19937_64 gen(7);
    for (int trial = 0; trial < 100; ++trial) {
        const std::size_t n = 1 + gen() % 3000;
        std::vector<float> l(n);
        for (auto& x : l) x = std::round(std::normal_distribution<float>(0.0f, 4.0f)(gen) * 4) / 4;  // many ties
        const std::size_t k = gen() % 25;
        const auto z = log_softmax_normalizer(l);
        std::vector<token_id> idx(n);
        for (std::size_t i = 0; i < n; ++i) idx[i] = static_cast<token_id>(i);
        std::sort(idx.begin(), idx.end(), [&](token_id a, token_id b) {
            return l[static_cast<std::size_t>(a)] > l[static_cast<std::size_t>(b)] || (l[static_cast<std::size_t>(a)] == l[static_cast<std::size_t>(b)] && a < b);
        });
        const auto top = top_logprobs(l, k);
        ASSERT_EQ(top.size(), std::min(k, n));
        for (std::size_t i = 0; i < top.size(); ++i) {
            EXPECT_EQ(top[i].id, idx[i]);
            EXPECT_EQ(top[i].logprob, l[static_cast<std::size_t>(idx[i])] - z.log_z);
        }
    }
}
