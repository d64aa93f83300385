// The blocks of the qwen3moe and gemma3 families on tiny synthetic models (no ../shared
// needed): expert routing, the sliding-window pattern, the optimised forward pass against
// the naive oracle past the window, and batch invariance of the mixture of experts.
#include <gtest/gtest.h>

#include <cmath>

#include "sluice/engine/moe_ffn.hpp"
#include "sluice/engine/transformer.hpp"
#include "sluice/kernels/quantize.hpp"
#include "support/reference_forward.hpp"
#include "support/synthetic_model.hpp"

namespace {

using namespace sluice;
using kernels::ggml_type;

TEST(route_experts, picks_the_most_probable_and_renormalises) {
    const float logits[5] = {0.0f, 2.0f, 1.0f, 3.0f, -1.0f};
    engine::moe_params p{5, 2, 8, true, 0.0f};
    engine::expert_route r[2];
    engine::route_experts(logits, p, r);
    EXPECT_EQ(r[0].expert, 3u);
    EXPECT_EQ(r[1].expert, 1u);
    const double e3 = std::exp(3.0), e2 = std::exp(2.0);
    EXPECT_NEAR(r[0].weight, e3 / (e3 + e2), 1e-6);
    EXPECT_NEAR(r[1].weight, e2 / (e3 + e2), 1e-6);

    p.norm_weights = false;  // the softmax probabilities themselves
    p.weights_scale = 2.0f;
    engine::route_experts(logits, p, r);
    double z = 0;
    for (const float l : logits) z += std::exp(static_cast<double>(l));
    EXPECT_NEAR(r[0].weight, 2.0 * e3 / z, 1e-6);
    EXPECT_NEAR(r[1].weight, 2.0 * e2 / z, 1e-6);
}

TEST(route_experts, breaks_ties_by_lower_expert_id) {
    const float logits[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    const engine::moe_params p{4, 3, 8, true, 0.0f};
    engine::expert_route r[3];
    engine::route_experts(logits, p, r);
    for (std::uint32_t s = 0; s < 3; ++s) {
        EXPECT_EQ(r[s].expert, s);
        EXPECT_NEAR(r[s].weight, 1.0f / 3.0f, 1e-6);
    }
}

TEST(gemma3, sliding_layers_follow_llama_cpp_pattern) {
    const test::model_shape shape{64, 7, 4, 1, 96, 300};
    const auto bytes = test::synthetic_gemma3(shape, ggml_type::f32, 4);
    const auto f = model::gguf_file::parse(bytes);
    const auto m = engine::llm_model::load(f);
    EXPECT_EQ(m->sliding_window(), 4u);
    for (std::size_t l = 0; l < 7; ++l) EXPECT_EQ(m->layers()[l].sliding, l != 5) << "layer " << l;  // every 6th is global
    EXPECT_FLOAT_EQ(m->embedding_scale(), 8.0f);
    EXPECT_FLOAT_EQ(m->rope_local().freq_base, 10000.0f);
    EXPECT_FLOAT_EQ(m->rope_global().freq_base, 100000.0f);

    const auto two = test::synthetic_gemma3(shape, ggml_type::f32, 4, 2);  // pattern 2: odd layers global
    const auto f2 = model::gguf_file::parse(two);
    const auto m2 = engine::llm_model::load(f2);
    for (std::size_t l = 0; l < 7; ++l) EXPECT_EQ(m2->layers()[l].sliding, l % 2 == 0) << "layer " << l;

    const auto none = test::synthetic_gemma3(shape, ggml_type::f32, 0);  // no window: all global
    const auto f3 = model::gguf_file::parse(none);
    const auto m3 = engine::llm_model::load(f3);
    for (const auto& l : m3->layers()) EXPECT_FALSE(l.sliding);
}

// Prefill then decode, over more positions than the window, against the oracle (exact mode).
void expect_matches_oracle(const engine::llm_model& m, const std::vector<engine::token_id>& ids, std::size_t n_prefill) {
    kernels::set_exact_activations(true);
    thread_pool pool(2);
    engine::transformer tf(m, pool);
    engine::kv_cache cache(m, 64, engine::kv_precision::f32);
    std::vector<float> prefill, step;
    tf.forward(std::span<const engine::token_id>(ids).first(n_prefill), cache, prefill, true);
    test::reference_forward oracle_fwd(m);
    for (std::size_t t = 0; t < ids.size(); ++t) {
        const auto expected = oracle_fwd.step(ids[t]);
        const float* got = prefill.data() + t * m.n_vocab();
        if (t >= n_prefill) {
            const engine::token_id one[1] = {ids[t]};
            tf.forward(one, cache, step);
            got = step.data();
        }
        for (std::size_t i = 0; i < m.n_vocab(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-3f) << "position " << t << " token " << i;
    }
    kernels::set_exact_activations(false);
}

const std::vector<engine::token_id> k_ids{1, 17, 299, 42, 42, 5, 250, 3, 77, 120, 8, 9, 200, 31};

TEST(gemma3, forward_past_the_window_matches_the_naive_forward_pass) {
    const auto bytes = test::synthetic_gemma3({64, 3, 4, 2, 96, 300}, ggml_type::q8_0, 4, 3);
    const auto f = model::gguf_file::parse(bytes);
    const auto m = engine::llm_model::load(f);
    expect_matches_oracle(*m, k_ids, 9);
}

test::moe_shape tiny_moe() {
    test::moe_shape s;
    s.base = {64, 2, 4, 2, 128, 300};
    s.head_dim = 32;
    s.n_expert = 8;
    s.n_used = 3;
    s.n_ff_exp = 64;
    return s;
}

TEST(qwen3moe, forward_matches_the_naive_forward_pass) {
    const auto bytes = test::synthetic_qwen3moe(tiny_moe(), ggml_type::q8_0);
    const auto f = model::gguf_file::parse(bytes);
    const auto m = engine::llm_model::load(f);
    ASSERT_EQ(m->layers()[0].experts.size(), 8u);
    expect_matches_oracle(*m, k_ids, 9);
}

TEST(qwen3moe, a_sequence_computes_the_same_alone_and_batched) {
    const auto bytes = test::synthetic_qwen3moe(tiny_moe(), ggml_type::q4_0);
    const auto f = model::gguf_file::parse(bytes);
    const auto m = engine::llm_model::load(f);
    thread_pool pool(2);
    engine::transformer tf(*m, pool, 64, engine::matmul_policy::batch_invariant);
    engine::kv_cache cache(*m, engine::kv_blocks{8, 16});
    const std::vector<std::uint32_t> t0{0, 1}, t1{2, 3}, t2{4, 5};
    const std::vector<engine::token_id> a(k_ids.begin(), k_ids.begin() + 12), b(k_ids.rbegin(), k_ids.rend());
    const std::size_t nv = m->n_vocab();
    std::vector<float> alone(a.size() * nv), together((a.size() + b.size()) * nv);
    const engine::batch_sequence one{a, 0, t0, a.size()};
    tf.forward_batch({&one, 1}, cache, alone.data());
    const engine::batch_sequence both[2] = {{b, 0, t1, b.size()}, {a, 0, t2, a.size()}};
    tf.forward_batch(both, cache, together.data());
    for (std::size_t i = 0; i < alone.size(); ++i) ASSERT_EQ(alone[i], together[b.size() * nv + i]) << "logit " << i;
    EXPECT_GT(tf.expert_bytes_read(), 0u);
}

}  // namespace
