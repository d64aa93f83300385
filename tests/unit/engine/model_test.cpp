// Loading models and the forward pass on tiny synthetic models (no ../shared needed).
#include <gtest/gtest.h>

#include "sluice/engine/transformer.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/util/error.hpp"
#include "support/reference_forward.hpp"
#include "support/synthetic_model.hpp"

namespace {

using namespace sluice;
using kernels::ggml_type;

const test::model_shape k_tiny{64, 2, 4, 2, 96, 300};

std::string load_error(const std::vector<std::byte>& bytes) {
    try {
        const auto f = model::gguf_file::parse(bytes, "tiny.gguf");
        (void)engine::llm_model::load(f);
    } catch (const error& e) {
        return e.what();
    }
    return "";
}

TEST(llm_model, loads_shapes_and_ties_the_output) {
    const auto bytes = test::synthetic_llama(k_tiny, ggml_type::q8_0);
    const auto f = model::gguf_file::parse(bytes);
    const auto m = engine::llm_model::load(f);
    EXPECT_EQ(m->n_vocab(), 300u);
    EXPECT_EQ(m->layers().size(), 2u);
    EXPECT_TRUE(m->output_tied());
    EXPECT_EQ(m->rope(), engine::rope_style::norm);
    EXPECT_EQ(m->layers()[0].wk.n_out, 32u);  // 2 KV heads x 16
}

TEST(llm_model, refuses_a_weight_type_it_cannot_compute_naming_tensor_and_type) {
    // A complete one-layer model whose blk.0.ffn_up.weight is MXFP4 (no kernels for it).
    model::gguf_writer w;
    w.add_string("general.architecture", "llama");
    w.add_u32("llama.context_length", 64);
    w.add_u32("llama.embedding_length", 32);
    w.add_u32("llama.block_count", 1);
    w.add_u32("llama.feed_forward_length", 32);
    w.add_u32("llama.attention.head_count", 2);
    std::mt19937 rng(1);
    w.add_tensor("token_embd.weight", ggml_type::f32, {32, 8}, test::random_matrix(ggml_type::f32, 32, 8, rng));
    w.add_tensor("output_norm.weight", ggml_type::f32, {32}, test::random_matrix(ggml_type::f32, 32, 1, rng));
    for (const char* n : {"attn_norm", "ffn_norm"}) {
        w.add_tensor(std::string("blk.0.") + n + ".weight", ggml_type::f32, {32}, test::random_matrix(ggml_type::f32, 32, 1, rng));
    }
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_down"}) {
        w.add_tensor(std::string("blk.0.") + n + ".weight", ggml_type::f32, {32, 32}, test::random_matrix(ggml_type::f32, 32, 32, rng));
    }
    w.add_tensor("blk.0.ffn_up.weight", ggml_type::mxfp4, {32, 32}, std::vector<std::byte>(32 * 17));
    const auto msg = load_error(w.bytes());
    EXPECT_NE(msg.find("blk.0.ffn_up.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("MXFP4"), std::string::npos) << msg;
}

TEST(llm_model, refuses_unknown_architectures_and_missing_tensors) {
    auto bytes = test::synthetic_llama(k_tiny, ggml_type::f32, 1, "qwen2");
    EXPECT_EQ(load_error(bytes), "");
    model::gguf_writer w;
    w.add_string("general.architecture", "mamba");
    w.add_u32("mamba.context_length", 64);
    w.add_u32("mamba.embedding_length", 32);
    w.add_u32("mamba.block_count", 1);
    w.add_u32("mamba.feed_forward_length", 32);
    w.add_u32("mamba.attention.head_count", 2);
    EXPECT_NE(load_error(w.bytes()).find("architecture 'mamba' is not supported"), std::string::npos);
    model::gguf_writer m;
    m.add_string("general.architecture", "llama");
    m.add_u32("llama.context_length", 64);
    m.add_u32("llama.embedding_length", 32);
    m.add_u32("llama.block_count", 1);
    m.add_u32("llama.feed_forward_length", 32);
    m.add_u32("llama.attention.head_count", 2);
    EXPECT_NE(load_error(m.bytes()).find("missing tensor 'token_embd.weight'"), std::string::npos);
}

class tiny_forward : public ::testing::TestWithParam<std::pair<ggml_type, std::string>> {};

// Batched prefill and decode against the naive oracle, in exact mode (see oracle_test.cpp).
TEST_P(tiny_forward, matches_the_naive_forward_pass) {
    const auto [type, arch] = GetParam();
    const auto bytes = test::synthetic_llama(k_tiny, type, 7, arch);
    const auto f = model::gguf_file::parse(bytes);
    const auto m = engine::llm_model::load(f);
    kernels::set_exact_activations(true);
    thread_pool pool(2);
    engine::transformer tf(*m, pool);
    engine::kv_cache cache(*m, 32, engine::kv_precision::f32);
    const std::vector<engine::token_id> ids{1, 17, 299, 42, 42, 5, 250, 3};
    std::vector<float> prefill, step;
    tf.forward(std::span<const engine::token_id>(ids).first(5), cache, prefill, true);
    test::reference_forward oracle_fwd(*m);
    for (std::size_t t = 0; t < ids.size(); ++t) {
        const auto expected = oracle_fwd.step(ids[t]);
        const float* got = prefill.data() + t * m->n_vocab();
        if (t >= 5) {
            const engine::token_id one[1] = {ids[t]};
            tf.forward(one, cache, step);
            got = step.data();
        }
        for (std::size_t i = 0; i < m->n_vocab(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-4f) << "position " << t << " token " << i;
    }
    kernels::set_exact_activations(false);
}

INSTANTIATE_TEST_SUITE_P(types, tiny_forward,
                         ::testing::Values(std::pair{ggml_type::f32, std::string("llama")}, std::pair{ggml_type::q8_0, std::string("llama")},
                                           std::pair{ggml_type::q4_0, std::string("qwen2")}),
                         [](const auto& p) { return std::string(kernels::name_of(p.param.first)) + "_" + p.param.second; });

TEST(transformer, refuses_tokens_outside_the_vocabulary_and_a_full_context) {
    const auto bytes = test::synthetic_llama(k_tiny, ggml_type::f32);
    const auto f = model::gguf_file::parse(bytes);
    const auto m = engine::llm_model::load(f);
    thread_pool pool(1);
    engine::transformer tf(*m, pool);
    engine::kv_cache cache(*m, 4);
    std::vector<float> logits;
    const std::vector<engine::token_id> bad{300};
    EXPECT_THROW(tf.forward(bad, cache, logits), error);
    const std::vector<engine::token_id> five{1, 2, 3, 4, 5};
    EXPECT_THROW(tf.forward(five, cache, logits), error);
    EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
