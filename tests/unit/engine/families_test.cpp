// The blocks of the qwen3moe, gemma3 and gemma4 families on tiny synthetic models (no
// ../shared needed): expert routing, the sliding-window pattern, the optimised forward pass
// against the naive oracle past the window, gemma4's per-layer shapes, shared KV and
// per-layer embeddings, and batch invariance of the mixture of experts and of gemma4.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sluice/engine/moe_ffn.hpp"
#include "sluice/engine/transformer.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/util/error.hpp"
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

TEST(gemma4, loads_per_layer_shapes_and_shared_kv) {
    const auto bytes = test::synthetic_gemma4(ggml_type::q8_0);
    const auto f = model::gguf_file::parse(bytes);
    const auto m = engine::llm_model::load(f);
    ASSERT_EQ(m->arch(), engine::architecture::gemma4);
    const auto& ls = m->layers();
    ASSERT_EQ(ls.size(), 6u);
    const bool sliding[6] = {true, true, true, false, true, false};
    const std::uint32_t source[6] = {0, 1, 2, 3, 2, 3};  // the last two read layers 2 (sliding) and 3 (full)
    for (std::size_t l = 0; l < 6; ++l) {
        EXPECT_EQ(ls[l].sliding, sliding[l]) << "layer " << l;
        EXPECT_EQ(ls[l].kv_source, source[l]) << "layer " << l;
        EXPECT_EQ(ls[l].head_dim_k, sliding[l] ? 16u : 32u) << "layer " << l;
        EXPECT_EQ(ls[l].n_head_kv, sliding[l] ? 2u : 1u) << "layer " << l;
        EXPECT_EQ(ls[l].n_ff, l < 4 ? 96u : 192u) << "layer " << l;
        EXPECT_EQ(ls[l].v_is_k, !sliding[l] && l < 4) << "layer " << l;
        EXPECT_EQ(ls[l].wk.data == nullptr, l >= 4) << "layer " << l;
        EXPECT_GT(ls[l].output_scale, 0.5f);
        EXPECT_LT(ls[l].output_scale, 1.0f);
    }
    EXPECT_EQ(m->per_layer().n, 4u);
    EXPECT_FLOAT_EQ(m->attention_scale(), 1.0f);
    EXPECT_FLOAT_EQ(m->embedding_scale(), 8.0f);
    EXPECT_EQ(m->rope_global().n_rot, 32u);
    EXPECT_EQ(m->rope_local().n_rot, 16u);
    EXPECT_FLOAT_EQ(m->rope_global().freq_factors[3], 1.0f);
    EXPECT_GT(m->rope_global().freq_factors[4], 1e29f);
    // No KV memory for the shared layers: 4 owning layers, K and V rows of n_kv * hd halves.
    const std::size_t per_row = 3 * (2 * 16 * 2) + 1 * (1 * 32 * 2);
    EXPECT_EQ(engine::kv_cache::block_bytes(*m, 16, engine::kv_precision::f16), 16 * per_row * 2);
    engine::kv_cache cache(*m, engine::kv_blocks{4, 16});
    EXPECT_EQ(cache.block_bytes(), 16 * per_row * 2);
    EXPECT_EQ(cache.k(4, 1, 3), cache.k(2, 1, 3));  // layer 4 reads layer 2's rows
    EXPECT_EQ(cache.v(5, 2, 0), cache.v(3, 2, 0));
    EXPECT_EQ(cache.k_stride(3), 32u);
}

TEST(gemma4, a_missing_tensor_is_named) {
    auto bytes = test::synthetic_gemma4(ggml_type::q8_0);
    // Rename one tensor in place (same length) so the file no longer has it.
    const std::string from = "blk.1.proj.weight", to = "blk.1.prXj.weight";
    const auto it = std::search(bytes.begin(), bytes.end(), reinterpret_cast<const std::byte*>(from.data()),
                                reinterpret_cast<const std::byte*>(from.data() + from.size()));
    ASSERT_NE(it, bytes.end());
    std::memcpy(&*it, to.data(), to.size());
    const auto f = model::gguf_file::parse(bytes);
    try {
        (void)engine::llm_model::load(f);
        FAIL() << "loaded without blk.1.proj.weight";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("blk.1.proj.weight"), std::string::npos) << e.what();
    }
}

// The oracle spells out every gemma4 block; past the window and through the shared-KV layers.
TEST(gemma4, forward_matches_the_naive_forward_pass) {
    const auto bytes = test::synthetic_gemma4(ggml_type::q8_0);
    const auto f = model::gguf_file::parse(bytes);
    const auto m = engine::llm_model::load(f);
    expect_matches_oracle(*m, k_ids, 9);
}

// The oracle comparison is sensitive to each gemma4 block: with one of them left out of the
// oracle's model (a zero term, a unit scale) its logits move far beyond the 1e-3 tolerance.
TEST(gemma4, each_block_moves_the_logits) {
    const auto bytes = test::synthetic_gemma4(ggml_type::q8_0);
    const auto f = model::gguf_file::parse(bytes);
    const auto base = engine::llm_model::load(f);
    auto last_logits = [&](const engine::llm_model& m) {
        test::reference_forward r(m);
        std::vector<float> out;
        for (const auto id : k_ids) out = r.step(id);
        return out;
    };
    const auto expected = last_logits(*base);
    auto distance = [&](const std::vector<float>& got) {
        float d = 0;
        for (std::size_t i = 0; i < got.size(); ++i) d = std::max(d, std::fabs(got[i] - expected[i]));
        return d;
    };
    auto no_per_layer = engine::llm_model::load(f);  // the per-layer term dropped (its input gate zero)
    std::vector<std::byte> zeros(4 * 64 * sizeof(float), std::byte{0});
    for (auto& l : const_cast<std::vector<engine::layer_weights>&>(no_per_layer->layers())) {
        l.pl_gate = kernels::make_weight_matrix(ggml_type::f32, zeros.data(), 64, 4);
    }
    EXPECT_GT(distance(last_logits(*no_per_layer)), 0.1f);
    auto no_scale = engine::llm_model::load(f);
    for (auto& l : const_cast<std::vector<engine::layer_weights>&>(no_scale->layers())) l.output_scale = 1.0f;
    EXPECT_GT(distance(last_logits(*no_scale)), 0.1f);
}

TEST(gemma4, a_sequence_computes_the_same_alone_and_batched) {
    const auto bytes = test::synthetic_gemma4(ggml_type::q4_0);
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
    // Decode one more token of `a` on top of its batched prefill: the same as the last row of a longer prefill.
    const std::vector<engine::token_id> a13(k_ids.begin(), k_ids.begin() + 13);
    std::vector<float> longer(a13.size() * nv), step(nv);
    const engine::batch_sequence whole{a13, 0, t0, a13.size()};
    tf.forward_batch({&whole, 1}, cache, longer.data());
    const engine::batch_sequence next{std::span(a13).subspan(12), 12, t2, 1};
    tf.forward_batch({&next, 1}, cache, step.data());
    for (std::size_t i = 0; i < nv; ++i) ASSERT_EQ(step[i], longer[12 * nv + i]) << "logit " << i;
}

}  // namespace
