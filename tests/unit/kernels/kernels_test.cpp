#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/f16_ops.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/matmul.hpp"
#include "sluice/kernels/quant_blocks.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/kernels/vec_dot.hpp"
#include "support/random_blocks.hpp"

namespace {

using namespace sluice::kernels;
using sluice::test::random_floats;
using sluice::test::random_row;

const ggml_type k_types[] = {ggml_type::f32,  ggml_type::f16,  ggml_type::bf16, ggml_type::q8_0, ggml_type::q4_0,
                             ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1, ggml_type::q2_k, ggml_type::q3_k,
                             ggml_type::q4_k, ggml_type::q5_k, ggml_type::q6_k, ggml_type::iq4_nl, ggml_type::iq4_xs};

class kernel_type : public ::testing::TestWithParam<ggml_type> {};

// The optimised dot product equals the scalar reference on ragged and tiny lengths.
TEST_P(kernel_type, fast_dot_matches_reference) {
    const ggml_type type = GetParam();
    std::mt19937 rng(1234 + static_cast<int>(type));
    const std::size_t bs = traits_of(type).block_size == 1 ? 1 : traits_of(type).block_size;
    const std::size_t unit = activation_format(type) == act_format::q8_k ? 256 : (bs == 1 ? 1 : 32);
    for (std::size_t blocks : {1, 2, 3, 7, 33}) {
        const std::size_t n = unit * blocks + (bs == 1 ? 5 : 0);  // float types: also a ragged tail
        const auto w = random_row(type, n, rng);
        const auto x = random_floats(n, rng);
        const auto fmt = activation_format(type);
        std::vector<std::byte> act(activation_bytes(fmt, n));
        quantize_activation(fmt, x.data(), act.data(), n);
        const float ref = reference_dot(type)(n, w.data(), act.data());
        const float fast = best_dot(type)(n, w.data(), act.data());
        // Bound by the magnitude of the terms: sum |w_i| |x_i|.
        std::vector<float> wf(n), xf(n);
        dequantize_row(type, w.data(), wf.data(), n);
        dequantize_activation(fmt, act.data(), xf.data(), n);
        float mag = 0;
        for (std::size_t i = 0; i < n; ++i) mag += std::fabs(wf[i] * xf[i]);
        EXPECT_NEAR(fast, ref, 1e-5f * mag + 1e-6f) << name_of(type) << " n=" << n;
    }
}

// Activation quantisation keeps the dot product close to the float one.
TEST_P(kernel_type, quantised_activations_stay_close_to_float) {
    const ggml_type type = GetParam();
    std::mt19937 rng(99);
    const std::size_t n = 512;
    const auto w = random_row(type, n, rng);
    const auto x = random_floats(n, rng);
    std::vector<float> wf(n);
    dequantize_row(type, w.data(), wf.data(), n);
    double exact = 0, mag = 0;
    for (std::size_t i = 0; i < n; ++i) {
        exact += static_cast<double>(wf[i]) * x[i];
        mag += std::fabs(static_cast<double>(wf[i]) * x[i]);
    }
    const auto fmt = activation_format(type);
    std::vector<std::byte> act(activation_bytes(fmt, n));
    quantize_activation(fmt, x.data(), act.data(), n);
    EXPECT_NEAR(reference_dot(type)(n, w.data(), act.data()), exact, 0.02 * mag) << name_of(type);
}

// matmul_rows gives every row exactly what matvec gives it alone, for any batch size
// and any position in the batch (the scheduler's batch invariance rests on this).
TEST_P(kernel_type, matmul_rows_is_bitwise_matvec_per_row) {
    const ggml_type type = GetParam();
    std::mt19937 rng(11);
    const std::size_t n_in = activation_format(type) == act_format::q8_k ? 512 : 96, n_out = 70;
    std::vector<std::byte> w;
    for (std::size_t r = 0; r < n_out; ++r) {
        const auto row = random_row(type, n_in, rng);
        w.insert(w.end(), row.begin(), row.end());
    }
    const auto wm = make_weight_matrix(type, w.data(), n_in, n_out);
    sluice::thread_pool pool(2);
    for (const bool no_vnni : {false, true}) {  // the AVX-VNNI kernels where the CPU has them, and AVX2
        force_no_vnni(no_vnni);
        for (const std::size_t n_tok : {2u, 3u, 5u, 9u, 13u}) {
            const auto x = random_floats(n_in * n_tok, rng);
            std::vector<float> y(n_out * n_tok), yv(n_out);
            matmul_rows(wm, x.data(), n_tok, y.data(), pool);
            for (std::size_t t = 0; t < n_tok; ++t) {
                matvec(wm, x.data() + t * n_in, yv.data(), pool);
                for (std::size_t r = 0; r < n_out; ++r) {
                    ASSERT_EQ(y[t * n_out + r], yv[r]) << name_of(type) << " n_tok " << n_tok << " tok " << t << " row " << r
                                                       << (no_vnni ? " (AVX2)" : " (AVX-VNNI if present)");
                }
            }
        }
    }
    force_no_vnni(false);
}

// matmul (sgemm on dequantised tiles) agrees with matvec (integer dots) row by row.
TEST_P(kernel_type, matmul_matches_matvec_and_reference) {
    const ggml_type type = GetParam();
    std::mt19937 rng(7);
    const std::size_t n_in = activation_format(type) == act_format::q8_k ? 512 : 96, n_out = 70, n_tok = 5;
    std::vector<std::byte> w;
    for (std::size_t r = 0; r < n_out; ++r) {
        const auto row = random_row(type, n_in, rng);
        w.insert(w.end(), row.begin(), row.end());
    }
    const auto wm = make_weight_matrix(type, w.data(), n_in, n_out);
    const auto x = random_floats(n_in * n_tok, rng);
    sluice::thread_pool pool(2);
    std::vector<float> y(n_out * n_tok), yv(n_out), yr(n_out);
    matmul(wm, x.data(), n_tok, y.data(), pool);
    const auto fmt = activation_format(type);
    std::vector<float> wf(n_in), xf(n_in);
    std::vector<std::byte> act(activation_bytes(fmt, n_in));
    for (std::size_t t = 0; t < n_tok; ++t) {
        matvec(wm, x.data() + t * n_in, yv.data(), pool);
        matvec_reference(wm, x.data() + t * n_in, yr.data());
        quantize_activation(fmt, x.data() + t * n_in, act.data(), n_in);
        dequantize_activation(fmt, act.data(), xf.data(), n_in);
        for (std::size_t r = 0; r < n_out; ++r) {
            // Rounding differs with summation order; it scales with sum |w_i x_i|.
            dequantize_row(type, w.data() + r * wm.row_bytes, wf.data(), n_in);
            float mag = 0;
            for (std::size_t i = 0; i < n_in; ++i) mag += std::fabs(wf[i] * xf[i]);
            const float tol = 2e-6f * mag + 1e-6f;
            EXPECT_NEAR(y[t * n_out + r], yr[r], tol) << name_of(type) << " tok " << t << " row " << r;
            EXPECT_NEAR(yv[r], yr[r], tol) << name_of(type) << " row " << r;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(all, kernel_type, ::testing::ValuesIn(k_types),
                         [](const auto& p) { return std::string(name_of(p.param)); });

// The integer GEMM (every quantised type): matmul, matmul_rows and matvec give every output exactly the
// scalar integer dot of its row (integer_dot), whatever the batch size, the row's place in
// the batch, packed or per-call layout, and the instruction set (AVX-VNNI, AVX2, scalar);
// and stay within rounding of the dequantising scalar reference.
class gemm_type : public ::testing::TestWithParam<ggml_type> {};

TEST_P(gemm_type, gemm_is_bitwise_integer_dot_per_row) {
    const ggml_type type = GetParam();
    std::mt19937 rng(21);
    // 5 blocks (2 super-blocks for K-quants); 4 full groups of 8 rows and a padded one
    const std::size_t n_in = traits_of(type).block_size == 256 ? 512 : 160, n_out = 37;
    std::vector<std::byte> w;
    for (std::size_t r = 0; r < n_out; ++r) {
        const auto row = random_row(type, n_in, rng);
        w.insert(w.end(), row.begin(), row.end());
    }
    const auto plain = make_weight_matrix(type, w.data(), n_in, n_out);
    std::vector<std::byte> packed_buf(packed_bytes(plain));
    ASSERT_GT(packed_buf.size(), 0u);
    pack_weights(plain, packed_buf.data());
    auto packed = plain;
    packed.packed = packed_buf.data();
    const dot_fn idot = integer_dot(type);
    ASSERT_NE(idot, nullptr);
    sluice::thread_pool pool(2);
    const auto fmt = activation_format(type);
    std::vector<std::byte> act(activation_bytes(fmt, n_in));
    std::vector<float> wf(n_in), xf(n_in);
    for (const int isa : {0, 1, 2}) {  // AVX-VNNI where present, AVX2, scalar
        force_no_vnni(isa >= 1);
        force_scalar(isa == 2);
        for (const weight_matrix* wm : std::initializer_list<const weight_matrix*>{&plain, &packed}) {
            for (const std::size_t n_tok : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 16u, 33u}) {
                const auto x = random_floats(n_in * n_tok, rng);
                std::vector<float> y(n_out * n_tok), yr(n_out * n_tok), yv(n_out);
                matmul(*wm, x.data(), n_tok, y.data(), pool);
                matmul_rows(*wm, x.data(), n_tok, yr.data(), pool);
                for (std::size_t t = 0; t < n_tok; ++t) {
                    matvec(*wm, x.data() + t * n_in, yv.data(), pool);
                    quantize_activation(fmt, x.data() + t * n_in, act.data(), n_in);
                    dequantize_activation(fmt, act.data(), xf.data(), n_in);
                    for (std::size_t r = 0; r < n_out; ++r) {
                        const void* row = w.data() + r * plain.row_bytes;
                        const float want = idot(n_in, row, act.data());
                        const std::string where = std::string(name_of(type)) + " isa " + std::to_string(isa) +
                                                  (wm == &packed ? " packed" : " plain") + " n_tok " + std::to_string(n_tok) +
                                                  " tok " + std::to_string(t) + " row " + std::to_string(r);
                        ASSERT_EQ(y[t * n_out + r], want) << where;
                        ASSERT_EQ(yr[t * n_out + r], want) << where;
                        ASSERT_EQ(yv[r], want) << where;
                        ASSERT_EQ(best_dot(type)(n_in, row, act.data()), want) << where;
                        dequantize_row(type, row, wf.data(), n_in);
                        float mag = 0;
                        for (std::size_t i = 0; i < n_in; ++i) mag += std::fabs(wf[i] * xf[i]);
                        EXPECT_NEAR(want, reference_dot(type)(n_in, row, act.data()), 2e-6f * mag + 1e-6f) << where;
                    }
                }
            }
        }
    }
    force_scalar(false);
    force_no_vnni(false);
}

INSTANTIATE_TEST_SUITE_P(int8, gemm_type,
                         ::testing::Values(ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1, ggml_type::q8_0, ggml_type::q2_k,
                                           ggml_type::q3_k, ggml_type::q4_k, ggml_type::q5_k, ggml_type::q6_k, ggml_type::iq4_nl,
                                           ggml_type::iq4_xs),
                         [](const auto& p) { return std::string(name_of(p.param)); });

// The IQ4 codebook and scale layout: index k of sub-block j decodes to d * (ls_j - 32) * t[k].
TEST(dequantize, iq4_codebook_and_scales) {
    block_iq4_nl nl{};
    nl.d = fp32_to_fp16(0.5f);
    for (int j = 0; j < 16; ++j) nl.qs[j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
    float y[256];
    dequantize_row(ggml_type::iq4_nl, &nl, y, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], 0.5f * k_iq4_values[j]);
        EXPECT_EQ(y[16 + j], 0.5f * k_iq4_values[15 - j]);
    }
    EXPECT_EQ(y[0], -63.5f);
    block_iq4_xs xs{};
    xs.d = fp32_to_fp16(0.25f);
    const int ls[8] = {0, 63, 32, 33, 31, 17, 48, 5};  // stored scales (value + 32)
    for (int j = 0; j < 8; ++j) {
        xs.scales_l[j / 2] = static_cast<std::uint8_t>(xs.scales_l[j / 2] | ((ls[j] & 0x0F) << (4 * (j % 2))));
        xs.scales_h = static_cast<std::uint16_t>(xs.scales_h | ((ls[j] >> 4) << (2 * j)));
    }
    for (int l = 0; l < 128; ++l) xs.qs[l] = static_cast<std::uint8_t>((l % 16) | ((l * 7 % 16) << 4));
    dequantize_row(ggml_type::iq4_xs, &xs, y, 256);
    for (int j = 0; j < 8; ++j) {
        for (int l = 0; l < 16; ++l) {
            const int b = xs.qs[16 * j + l];
            EXPECT_EQ(y[32 * j + l], 0.25f * static_cast<float>(ls[j] - 32) * k_iq4_values[b & 0x0F]) << j << " " << l;
            EXPECT_EQ(y[32 * j + 16 + l], 0.25f * static_cast<float>(ls[j] - 32) * k_iq4_values[b >> 4]) << j << " " << l;
        }
    }
}

// The AVX2 Q8_0 activation quantiser gives the scalar one's bytes exactly, ties and zeros included.
TEST(quantize, q8_0_avx2_matches_scalar) {
    std::mt19937 rng(9);
    auto x = random_floats(32 * 70, rng);
    for (std::size_t i = 0; i < 32; ++i) x[i] = 0.0f;                      // an all-zero block
    for (std::size_t i = 32; i < 64; ++i) x[i] = (i % 2 ? -1.0f : 1.0f) * (static_cast<float>(i % 7) + 0.5f);  // halves after scaling
    x[64] = -0.0f;
    std::vector<std::byte> fast(70 * 34), slow(70 * 34);
    quantize_activation(act_format::q8_0, x.data(), fast.data(), x.size());
    force_scalar(true);
    quantize_activation(act_format::q8_0, x.data(), slow.data(), x.size());
    force_scalar(false);
    EXPECT_EQ(fast, slow);
}

// Activations are quantised to Q8_0/Q8_1/Q8_K with ggml's x86 arithmetic, bit for bit: the
// multiplier is 127 / max|x| (not 1 / d, which can differ in the last bit) and products round
// half to even. The first block is one from gemma4-Q4_0 (prompt 5 of the reference, layer 0's
// attention output at position 18): 0.641166806 * (127 / 1.28233361) is exactly 63.5 (-> 64),
// while 0.641166806 * (1 / (1.28233361 / 127)) is 63.499996 (-> 63). That one flipped value,
// amplified by gemma4's normalised per-layer embeddings, moved the reference's top token from
// log-probability -0.13 to -7.80.
TEST(quantize, q8_activations_round_as_ggml) {
    std::vector<float> x(64, 0.0f);
    x[0] = -1.28233361f;  // max |x|
    x[1] = 0.641166806f;
    x[32] = 127.0f;  // multiplier exactly 1: the products are the values
    x[33] = 2.5f;
    x[34] = -0.5f;
    x[35] = 0.5f;
    x[36] = -3.5f;
    for (const bool scalar : {false, true}) {
        force_scalar(scalar);
        std::vector<block_q8_0> q(2);
        quantize_activation(act_format::q8_0, x.data(), q.data(), x.size());
        force_scalar(false);
        EXPECT_EQ(q[0].qs[0], -127) << "scalar " << scalar;
        EXPECT_EQ(q[0].qs[1], 64) << "scalar " << scalar;
        EXPECT_EQ(q[1].qs[1], 2) << "scalar " << scalar;
        EXPECT_EQ(q[1].qs[2], 0) << "scalar " << scalar;
        EXPECT_EQ(q[1].qs[3], 0) << "scalar " << scalar;
        EXPECT_EQ(q[1].qs[4], -4) << "scalar " << scalar;
        std::vector<block_q8_1> q1(2);
        quantize_activation(act_format::q8_1, x.data(), q1.data(), x.size());
        EXPECT_EQ(q1[0].qs[1], 64);
        EXPECT_EQ(q1[1].qs[1], 2);
        EXPECT_EQ(q1[1].qs[2], 0);
    }
    // Q8_K: multiplier -127 / (the largest-magnitude value, signed) = 1 here.
    std::vector<float> xk(qk_k, 0.0f);
    xk[0] = -127.0f;
    xk[1] = 2.5f;
    xk[2] = -0.5f;
    block_q8_k qk8{};
    quantize_activation(act_format::q8_k, xk.data(), &qk8, xk.size());
    EXPECT_EQ(qk8.qs[0], -127);
    EXPECT_EQ(qk8.qs[1], 2);
    EXPECT_EQ(qk8.qs[2], 0);
}

// F16C conversion of KV rows rounds exactly as the portable fp32_to_fp16 (nearest even,
// subnormals, overflow to infinity).
TEST(f16_ops, fp32_to_fp16_row_matches_scalar) {
    std::mt19937 rng(4);
    auto x = random_floats(1000, rng);
    const float edges[] = {0.0f, -0.0f, 1e-8f, -6.1e-5f, 5.96e-8f, 2.98e-8f, 65504.0f, 65519.0f, 65520.0f, -1e6f, 1.0009765625f, 1.00048828125f};
    x.insert(x.end(), std::begin(edges), std::end(edges));
    for (std::size_t i = 0; i < 200; ++i) x.push_back(std::ldexp(x[i], static_cast<int>(i % 40) - 30));
    std::vector<std::uint16_t> fast(x.size()), slow(x.size());
    fp32_to_fp16_row(x.data(), fast.data(), x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        slow[i] = fp32_to_fp16(x[i]);
        EXPECT_EQ(fast[i], slow[i]) << "x = " << x[i] << " (" << i << ")";
    }
}

TEST(quantize, q4_0_and_q8_0_round_trip) {
    std::mt19937 rng(5);
    const auto x = random_floats(256, rng);
    std::vector<std::byte> q8(256 / 32 * 34), q4(256 / 32 * 18);
    quantize_row_q8_0(x.data(), q8.data(), 256);
    quantize_row_q4_0(x.data(), q4.data(), 256);
    std::vector<float> y8(256), y4(256);
    dequantize_row(ggml_type::q8_0, q8.data(), y8.data(), 256);
    dequantize_row(ggml_type::q4_0, q4.data(), y4.data(), 256);
    for (std::size_t i = 0; i < 256; ++i) {
        EXPECT_NEAR(y8[i], x[i], 0.03f);
        EXPECT_NEAR(y4[i], x[i], 0.5f);
    }
}

TEST(fp16, conversions_round_to_nearest_even) {
    for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333333f}) {
        EXPECT_NEAR(fp16_to_fp32(fp32_to_fp16(f)), f, std::fabs(f) * 1e-3f + 1e-7f) << f;
    }
    EXPECT_EQ(fp32_to_fp16(1.0f), 0x3C00);
    EXPECT_EQ(fp32_to_fp16(1e6f), 0x7C00);
    EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(std::nanf("")))));
}

// matmul_many: each product is bit for bit matmul (or matmul_rows) alone, whether the
// products share one quantisation (same activation format) or fall back to separate calls
// (Q4_0 beside Q4_1 and F16: different formats), at batch sizes around the serial cut-off.
TEST(matmul_many, each_product_is_bitwise_matmul_alone) {
    std::mt19937 rng(11);
    const std::size_t n_in = 96;
    const ggml_type types[] = {ggml_type::q4_0, ggml_type::q4_0, ggml_type::q8_0, ggml_type::q4_1, ggml_type::f16};
    const std::size_t n_outs[] = {72, 21, 40, 16, 9};
    std::vector<std::vector<std::byte>> data;
    std::vector<weight_matrix> ws;
    for (std::size_t m = 0; m < 5; ++m) {
        data.emplace_back();
        for (std::size_t r = 0; r < n_outs[m]; ++r) {
            const auto row = random_row(types[m], n_in, rng);
            data.back().insert(data.back().end(), row.begin(), row.end());
        }
        ws.push_back(make_weight_matrix(types[m], data.back().data(), n_in, n_outs[m]));
    }
    sluice::thread_pool pool(2);
    for (std::size_t n_tok : {1, 5, 17, 40}) {
        const auto x = random_floats(n_in * n_tok, rng);
        for (const auto& set : {std::vector<std::size_t>{0, 1, 2}, std::vector<std::size_t>{0, 3, 4}, std::vector<std::size_t>{1}}) {
            for (const bool invariant : {false, true}) {
                std::vector<std::vector<float>> got, want;
                std::vector<matmul_job> jobs;
                for (const std::size_t m : set) {
                    got.emplace_back(n_outs[m] * n_tok, NAN);
                    want.emplace_back(n_outs[m] * n_tok);
                    (invariant ? matmul_rows : matmul)(ws[m], x.data(), n_tok, want.back().data(), pool);
                }
                for (std::size_t j = 0; j < set.size(); ++j) jobs.push_back({&ws[set[j]], got[j].data()});
                matmul_many(jobs, x.data(), n_tok, invariant, pool);
                for (std::size_t j = 0; j < set.size(); ++j) {
                    ASSERT_EQ(0, std::memcmp(got[j].data(), want[j].data(), got[j].size() * sizeof(float)))
                        << "n_tok " << n_tok << " product " << j << " of set starting " << set[0];
                }
            }
        }
    }
}

TEST(thread_pool, runs_every_task_exactly_once) {
    sluice::thread_pool pool(2);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::atomic<int>> hits(37);
        pool.run(hits.size(), [&](std::size_t i) { hits[i].fetch_add(1); });
        for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
    EXPECT_GE(sluice::thread_pool::physical_cores(), 1u);
}

}  // namespace
