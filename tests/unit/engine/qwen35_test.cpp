// qwen35 (gated DeltaNet + gated full attention) on tiny synthetic models (no ../shared
// needed): loading and its errors, the optimised forward pass against the naive oracle,
// chunked prefill against token-by-token decoding (bit for bit), and sequences batched
// together through their own recurrent-state slots.
#include <gtest/gtest.h>

#include "sluice/engine/transformer.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/util/error.hpp"
#include "support/reference_forward.hpp"
#include "support/synthetic_model.hpp"

namespace {

using namespace sluice;
using kernels::ggml_type;

const std::vector<engine::token_id> k_ids{1, 17, 299, 42, 42, 5, 250, 3, 77, 120, 8, 9, 200, 31, 64, 2, 2, 180, 99, 7, 13, 14};

struct loaded {
    std::vector<std::byte> bytes;
    model::gguf_file file;
    std::unique_ptr<engine::llm_model> m;
    explicit loaded(std::vector<std::byte> b)
        : bytes(std::move(b)), file(model::gguf_file::parse(bytes)), m(engine::llm_model::load(file)) {}
};

TEST(qwen35, loads_the_layer_pattern_sizes_and_mrope_sections) {
    const loaded q(test::synthetic_qwen35({}, ggml_type::q8_0));
    const auto& m = *q.m;
    EXPECT_EQ(m.arch(), engine::architecture::qwen35);
    ASSERT_EQ(m.layers().size(), 4u);
    for (std::size_t l = 0; l < 4; ++l) {
        EXPECT_EQ(m.layers()[l].recurrent, l != 3) << "layer " << l;
        EXPECT_EQ(m.layers()[l].attn_gated, l == 3) << "layer " << l;
    }
    EXPECT_TRUE(m.has_recurrent_layers());
    const auto& d = m.delta_net();
    EXPECT_EQ(d.d_conv, 4u);
    EXPECT_EQ(d.n_k_heads, 2u);
    EXPECT_EQ(d.n_v_heads, 4u);
    EXPECT_EQ(d.head_v, 16u);
    EXPECT_EQ(d.conv_dim(), 128u);
    // sections {1,1,1,1} over 4 pairs: t, h, w, then the 4th section (position 0 for text)
    EXPECT_EQ(m.rope_global().unrotated, (std::vector<bool>{false, false, false, true}));
    // K/V only for the attention layer; one slot of state per sequence for the three others.
    EXPECT_EQ(engine::kv_cache::block_bytes(m, 16, engine::kv_precision::f16), 16u * 2 * 32 * 2 * 2);
    EXPECT_EQ(engine::recurrent_state::slot_bytes(m), 3u * (3 * 128 + 4 * 16 * 16) * 4);
}

TEST(qwen35, a_missing_or_misshapen_tensor_is_named) {
    for (const std::string name : {"blk.0.ssm_conv1d.weight", "blk.1.ssm_a", "blk.2.attn_gate.weight", "blk.3.attn_q_norm.weight",
                                   "blk.0.post_attention_norm.weight"}) {
        const auto bytes = test::synthetic_qwen35({}, ggml_type::q8_0, 42, name);
        const auto f = model::gguf_file::parse(bytes);
        try {
            (void)engine::llm_model::load(f);
            ADD_FAILURE() << "loaded without " << name;
        } catch (const sluice::error& e) {
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
    }
    test::qwen35_shape wrong;
    wrong.n_k_heads = 3;  // 4 value heads do not split over 3 key heads
    const auto bytes = test::synthetic_qwen35(wrong, ggml_type::q8_0);
    const auto f = model::gguf_file::parse(bytes);
    EXPECT_THROW((void)engine::llm_model::load(f), sluice::error);
}

// Prefill then decode against the oracle (exact mode, float KV).
TEST(qwen35, forward_matches_the_naive_forward_pass) {
    for (const auto type : {ggml_type::f32, ggml_type::q8_0}) {
        const loaded q(test::synthetic_qwen35({}, type));
        const auto& m = *q.m;
        kernels::set_exact_activations(true);
        thread_pool pool(2);
        engine::transformer tf(m, pool);
        engine::kv_cache cache(m, 64, engine::kv_precision::f32);
        const std::size_t n_prefill = 9, nv = m.n_vocab();
        std::vector<float> prefill, step;
        tf.forward(std::span<const engine::token_id>(k_ids).first(n_prefill), cache, prefill, true);
        test::reference_forward oracle(m);
        float spread = 0;
        for (std::size_t t = 0; t < k_ids.size(); ++t) {
            const auto expected = oracle.step(k_ids[t]);
            const float* got = prefill.data() + t * nv;
            if (t >= n_prefill) {
                const engine::token_id one[1] = {k_ids[t]};
                tf.forward(one, cache, step);
                got = step.data();
            }
            for (std::size_t i = 0; i < nv; ++i) {
                ASSERT_NEAR(got[i], expected[i], 2e-3f) << "position " << t << " token " << i;
                spread = std::max(spread, std::abs(expected[i]));
            }
        }
        EXPECT_GT(spread, 0.5f);  // the logits are not all near zero: the comparison means something
        kernels::set_exact_activations(false);
    }
}

// All logits of k_ids computed in chunks of `chunk` tokens (each chunk one forward_batch
// from the state the previous one left), batch-invariant matmuls, F16 KV as the server.
std::vector<float> chunked_logits(const engine::llm_model& m, std::size_t chunk) {
    thread_pool pool(2);
    engine::transformer tf(m, pool, 64, engine::matmul_policy::batch_invariant);
    engine::kv_cache cache(m, engine::kv_blocks{4, 16, 2});
    const std::vector<std::uint32_t> table{3, 1};  // any blocks
    const std::size_t nv = m.n_vocab();
    std::vector<float> out(k_ids.size() * nv);
    for (std::size_t p = 0; p < k_ids.size(); p += chunk) {
        const std::size_t n = std::min(chunk, k_ids.size() - p);
        const engine::batch_sequence s{std::span<const engine::token_id>(k_ids).subspan(p, n), p, table, n, 1};
        tf.forward_batch({&s, 1}, cache, out.data() + p * nv);
    }
    return out;
}

TEST(qwen35, chunked_prefill_equals_token_by_token_decoding_bit_for_bit) {
    const loaded q(test::synthetic_qwen35({}, ggml_type::q8_0));
    const auto one_by_one = chunked_logits(*q.m, 1);
    for (const std::size_t chunk : {2u, 3u, 5u, 7u, 16u, 22u}) {
        const auto got = chunked_logits(*q.m, chunk);
        for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], one_by_one[i]) << "chunk " << chunk << " logit " << i;
    }
}

TEST(qwen35, sequences_batched_together_keep_their_own_state) {
    const loaded q(test::synthetic_qwen35({}, ggml_type::q8_0));
    const auto& m = *q.m;
    thread_pool pool(2);
    engine::transformer tf(m, pool, 64, engine::matmul_policy::batch_invariant);
    engine::kv_cache cache(m, engine::kv_blocks{8, 16, 3});
    const std::vector<std::uint32_t> t0{0, 1}, t1{2, 3}, t2{4, 5};
    const std::vector<engine::token_id> a(k_ids.begin(), k_ids.begin() + 12), b(k_ids.rbegin(), k_ids.rend());
    const std::size_t nv = m.n_vocab();
    std::vector<float> alone(a.size() * nv), together((a.size() + b.size()) * nv);
    const engine::batch_sequence one{a, 0, t0, a.size(), 0};
    tf.forward_batch({&one, 1}, cache, alone.data());
    const engine::batch_sequence both[2] = {{b, 0, t1, b.size(), 2}, {a, 0, t2, a.size(), 1}};
    tf.forward_batch(both, cache, together.data());
    for (std::size_t i = 0; i < alone.size(); ++i) ASSERT_EQ(alone[i], together[b.size() * nv + i]) << "logit " << i;
    // A slot outside the cache is refused.
    const engine::batch_sequence bad{a, 0, t0, 1, 3};
    EXPECT_THROW(tf.forward_batch({&bad, 1}, cache, alone.data()), sluice::error);
}

}  // namespace
