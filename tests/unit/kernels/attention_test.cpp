// The tiled online-softmax attention kernel (sluice/kernels/attention.hpp): its exp, the AVX2
// kernel against the scalar reference (bit for bit), batch invariance of a query's result,
// and the result against plain softmax attention computed in double.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "sluice/kernels/attention.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/swiglu.hpp"
#include "sluice/kernels/vec_dot.hpp"
#include "support/random_blocks.hpp"

namespace {

using namespace sluice::kernels;
using sluice::test::random_floats;
constexpr std::size_t T = k_attn_tile;

TEST(attn_exp, close_to_std_exp_and_zero_below_range) {
    for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
        const double want = std::exp(static_cast<double>(x));
        EXPECT_NEAR(attn_exp(x), want, 3e-7 * want) << x;
    }
    EXPECT_EQ(attn_exp(0.0f), 1.0f);
    EXPECT_EQ(attn_exp(-0.0f), 1.0f);
    EXPECT_EQ(attn_exp(-88.0f), 0.0f);
    EXPECT_EQ(attn_exp(-INFINITY), 0.0f);
}

// A random cache of n_keys half-precision K/V rows for one KV head and queries over it.
struct problem {
    std::size_t hd_k, hd_v, n_keys;
    std::vector<std::uint16_t> k, v;  // [n_keys x hd]
    std::vector<float> q;             // [n_q x hd_k]
    std::vector<std::uint32_t> lo, end;
    float scale;
};

problem make_problem(std::size_t hd_k, std::size_t hd_v, std::size_t n_keys, std::size_t n_q, std::mt19937& rng) {
    problem p{hd_k, hd_v, n_keys, {}, {}, random_floats(n_q * hd_k, rng, 2.0f), {}, {}, 1.0f / std::sqrt(static_cast<float>(hd_k))};
    for (float x : random_floats(n_keys * hd_k, rng, 2.0f)) p.k.push_back(fp32_to_fp16(x));
    for (float x : random_floats(n_keys * hd_v, rng)) p.v.push_back(fp32_to_fp16(x));
    std::uniform_int_distribution<std::size_t> pick(1, n_keys);
    for (std::size_t a = 0; a < n_q; ++a) {
        const std::size_t e = pick(rng);
        const std::size_t window = std::uniform_int_distribution<std::size_t>(1, e + 3)(rng);  // > e: no window
        p.end.push_back(static_cast<std::uint32_t>(e));
        p.lo.push_back(static_cast<std::uint32_t>(window >= e ? 0 : e - window));
    }
    return p;
}

// Runs queries [a0, a1) of the problem together through the tiles; out [n_q x hd_v].
void run(const problem& p, std::size_t a0, std::size_t a1, bool reference, std::vector<float>& out) {
    std::vector<attn_query> qs(a1 - a0);
    std::vector<float> accs(qs.size() * p.hd_v), kbuf(p.hd_k * T, NAN), vt(T * p.hd_v, NAN);
    std::size_t lo = p.n_keys, end = 0;
    for (std::size_t a = a0; a < a1; ++a) {
        auto& q = qs[a - a0];
        q.q = p.q.data() + a * p.hd_k;
        q.acc = accs.data() + (a - a0) * p.hd_v;
        q.lo = p.lo[a];
        q.end = p.end[a];
        attn_begin(q, p.hd_v);
        lo = std::min<std::size_t>(lo, q.lo);
        end = std::max<std::size_t>(end, q.end);
    }
    for (std::size_t j0 = lo / T * T; j0 < end; j0 += T) {
        const std::size_t c0 = std::max(lo, j0) - j0, c1 = std::min(end - j0, T);
        const std::uint16_t* k_rows[T];
        const std::uint16_t* v_rows[T];
        for (std::size_t c = c0; c < c1; ++c) {
            k_rows[c] = p.k.data() + (j0 + c) * p.hd_k;
            v_rows[c] = p.v.data() + (j0 + c) * p.hd_v;
        }
        attn_load_tile_f16(k_rows, v_rows, c0, c1, p.hd_k, p.hd_v, kbuf.data(), vt.data());
        const attn_tile tile{kbuf.data(), vt.data(), j0, p.hd_k, p.hd_v, p.scale};
        if (reference) {
            attn_tile_update_reference(tile, qs.data(), qs.size());
        } else {
            attn_tile_update(tile, qs.data(), qs.size());
        }
    }
    out.resize(p.q.size() / p.hd_k * p.hd_v);
    for (std::size_t a = a0; a < a1; ++a) attn_finish(qs[a - a0], p.hd_v, out.data() + a * p.hd_v);
}

struct dims {
    std::size_t hd_k, hd_v;
};

class attention_dims : public ::testing::TestWithParam<dims> {};

// The optimised kernel computes the reference's operations exactly; a query alone, or
// next to any others, gets the same bits (what makes decode, prefill and mixed steps agree).
TEST_P(attention_dims, fast_is_bitwise_reference_and_batch_invariant) {
    const auto [hd_k, hd_v] = GetParam();
    std::mt19937 rng(static_cast<unsigned>(hd_k * 131 + hd_v));
    for (std::size_t n_keys : {1, 7, 32, 33, 100, 200}) {
        const std::size_t n_q = 9;
        const problem p = make_problem(hd_k, hd_v, n_keys, n_q, rng);
        std::vector<float> ref, fast, alone;
        run(p, 0, n_q, true, ref);
        run(p, 0, n_q, false, fast);
        for (std::size_t a = 0; a < n_q; ++a) {
            std::vector<float> one;
            run(p, a, a + 1, false, one);
            alone.insert(alone.end(), one.begin() + a * hd_v, one.begin() + (a + 1) * hd_v);
        }
        ASSERT_EQ(0, std::memcmp(ref.data(), fast.data(), ref.size() * sizeof(float))) << "n_keys " << n_keys;
        ASSERT_EQ(0, std::memcmp(ref.data(), alone.data(), ref.size() * sizeof(float))) << "n_keys " << n_keys;
    }
}

// Against softmax(q k / sqrt(d)) v in double over the same half-precision rows.
TEST_P(attention_dims, matches_plain_softmax_attention) {
    const auto [hd_k, hd_v] = GetParam();
    std::mt19937 rng(7);
    const problem p = make_problem(hd_k, hd_v, 150, 12, rng);
    std::vector<float> out;
    run(p, 0, 12, false, out);
    for (std::size_t a = 0; a < 12; ++a) {
        std::vector<double> s;
        double mx = -1e300;
        for (std::size_t j = p.lo[a]; j < p.end[a]; ++j) {
            double d = 0;
            for (std::size_t i = 0; i < hd_k; ++i) d += static_cast<double>(p.q[a * hd_k + i]) * fp16_to_fp32(p.k[j * hd_k + i]);
            s.push_back(d * p.scale);
            mx = std::max(mx, s.back());
        }
        double sum = 0;
        for (auto& x : s) sum += (x = std::exp(x - mx));
        for (std::size_t i = 0; i < hd_v; ++i) {
            double want = 0;
            for (std::size_t j = p.lo[a]; j < p.end[a]; ++j) want += s[j - p.lo[a]] / sum * fp16_to_fp32(p.v[j * hd_v + i]);
            EXPECT_NEAR(out[a * hd_v + i], want, 2e-5) << "query " << a << " dim " << i;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(kernels, attention_dims,
                         ::testing::Values(dims{64, 64}, dims{128, 128}, dims{8, 8}, dims{32, 64}, dims{256, 256}, dims{40, 40}),
                         [](const auto& param_info) { return std::to_string(param_info.param.hd_k) + "x" + std::to_string(param_info.param.hd_v); });

// Without AVX2 the same function is the reference, so the two paths agree too.
TEST(attention, scalar_path_is_reference) {
    std::mt19937 rng(3);
    const problem p = make_problem(64, 64, 90, 5, rng);
    std::vector<float> fast, scalar;
    run(p, 0, 5, false, fast);
    force_scalar(true);
    run(p, 0, 5, false, scalar);
    force_scalar(false);
    EXPECT_EQ(0, std::memcmp(fast.data(), scalar.data(), fast.size() * sizeof(float)));
}

}  // namespace

namespace {

// swiglu: AVX2 bit for bit the scalar reference (ragged lengths, in place as the FFN calls
// it, extreme inputs), and within a few ulp of x / (1 + e^-x) * u in double.
TEST(swiglu, fast_is_bitwise_reference_and_close_to_silu) {
    std::mt19937 rng(5);
    for (std::size_t n : {1, 7, 8, 9, 100, 1027}) {
        auto g = random_floats(n, rng, 4.0f);
        const auto u = random_floats(n, rng);
        if (n > 8) g[3] = -120.0f, g[4] = 95.0f, g[5] = 0.0f;
        std::vector<float> ref(n), fast = g;
        swiglu_reference(g.data(), u.data(), ref.data(), n);
        swiglu(fast.data(), u.data(), fast.data(), n);
        ASSERT_EQ(0, std::memcmp(ref.data(), fast.data(), n * sizeof(float))) << n;
        for (std::size_t i = 0; i < n; ++i) {
            const double want = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i];
            EXPECT_NEAR(ref[i], want, 1e-6 * std::fabs(want) + 1e-30) << "n " << n << " i " << i;
        }
    }
}

// llama.cpp's one-chunk flash attention: plain softmax attention up to half-precision
// accumulation, and exactly its first steps (one key: that key's value).
TEST(attn_f16_sequential, matches_softmax_attention_within_half_precision) {
    std::mt19937 rng(7);
    for (const std::size_t hd : {32u, 64u}) {
        const std::size_t n_keys = 37;
        std::vector<std::uint16_t> k(n_keys * hd), v(n_keys * hd);
        const auto kf = random_floats(n_keys * hd, rng, 1.0f), vf = random_floats(n_keys * hd, rng, 1.0f);
        for (std::size_t i = 0; i < k.size(); ++i) {
            k[i] = fp32_to_fp16(kf[i]);
            v[i] = fp32_to_fp16(vf[i]);
        }
        const auto q = random_floats(hd, rng, 1.0f);
        std::vector<const std::uint16_t*> kr, vr;
        for (std::size_t j = 0; j < n_keys; ++j) {
            kr.push_back(&k[j * hd]);
            vr.push_back(&v[j * hd]);
        }
        std::vector<float> out(hd);
        attn_f16_sequential(q.data(), kr.data(), vr.data(), 1, hd, hd, 1.0f, out.data());
        for (std::size_t i = 0; i < hd; ++i) EXPECT_EQ(out[i], fp16_to_fp32(v[i]));

        attn_f16_sequential(q.data(), kr.data(), vr.data(), n_keys, hd, hd, 0.5f, out.data());
        std::vector<double> s(n_keys), want(hd, 0.0);
        double max = -1e300, z = 0;
        for (std::size_t j = 0; j < n_keys; ++j) {
            double dot = 0;
            for (std::size_t i = 0; i < hd; ++i) dot += static_cast<double>(fp16_to_fp32(k[j * hd + i])) * q[i];
            s[j] = 0.5 * dot;
            max = std::max(max, s[j]);
        }
        for (std::size_t j = 0; j < n_keys; ++j) z += (s[j] = std::exp(s[j] - max));
        for (std::size_t j = 0; j < n_keys; ++j) {
            for (std::size_t i = 0; i < hd; ++i) want[i] += s[j] / z * fp16_to_fp32(v[j * hd + i]);
        }
        for (std::size_t i = 0; i < hd; ++i) EXPECT_NEAR(out[i], want[i], 1e-2) << "hd " << hd << " dim " << i;
    }
}

}  // namespace
