#include "sluice/engine/sampler.hpp"

#include "sluice/engine/logit_bias.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/util/error.hpp"
#include "support/tiny_vocabs.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace {

using namespace sluice::engine;

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
