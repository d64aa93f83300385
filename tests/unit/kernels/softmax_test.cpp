// softmax.hpp: sluice's exp against std::exp, and the AVX2 path bit for bit against the
// scalar reference (sums, weights, maxima), including NaN, infinities, ties and tails.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "sluice/kernels/softmax.hpp"
#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels {
namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
const float nan = std::numeric_limits<float>::quiet_NaN();

// Runs f with the AVX2 path, then with the scalar reference.
template <typename F>
auto both(F f) {
    force_scalar(false);
    auto fast = f();
    force_scalar(true);
    auto ref = f();
    force_scalar(false);
    return std::pair{fast, ref};
}

std::vector<float> random_row(std::mt19937& gen, std::size_t n, bool hostile) {
    std::vector<float> x(n);
    for (auto& v : x) v = std::normal_distribution<float>(0.0f, 4.0f)(gen);
    if (hostile) {
        for (std::size_t i = 0; i < n; i += 7) x[i] = std::round(x[i]);  // ties
        for (std::size_t i = 3; i < n; i += 13) x[i] = -inf;              // banned tokens
        for (std::size_t i = 5; i < n; i += 29) x[i] = nan;
        if (n > 11) x[11] = inf;
    }
    return x;
}

TEST(softmax, exp_approx_is_within_two_ulps_of_std_exp) {
    double worst = 0;
    for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
        const double want = std::exp(static_cast<double>(x));
        worst = std::max(worst, std::fabs(kernels::exp_approx(x) - want) / want);
    }
    EXPECT_LT(worst, 2.5e-7);
    EXPECT_EQ(exp_approx(0.0f), 1.0f);
    EXPECT_EQ(exp_approx(-100.0f), 0.0f);
    EXPECT_EQ(exp_approx(-inf), 0.0f);
    EXPECT_EQ(exp_approx(nan), 0.0f);
    EXPECT_TRUE(std::isfinite(exp_approx(1000.0f)));
}

TEST(softmax, exp_sum_is_bit_identical_on_both_paths) {
    if (!cpu().avx2 || !cpu().fma) GTEST_SKIP() << "no AVX2/FMA on this CPU: only the scalar path exists";
    std::mt19937 gen(17);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{9}, std::size_t{63}, std::size_t{1000}, std::size_t{128256}}) {
        for (const bool hostile : {false, true}) {
            const auto x = random_row(gen, n, hostile);
            const float shift = max_finite(x);
            for (const float scale : {1.0f, 1.0f / 0.7f, 1.0f / 1.9f}) {
                std::vector<float> w_fast(n, -1), w_ref(n, -2);
                const float s = n == 0 ? 0.0f : shift;
                force_scalar(false);
                const double fast = exp_sum(x, s, scale, w_fast.data());
                force_scalar(true);
                const double ref = exp_sum(x, s, scale, w_ref.data());
                force_scalar(false);
                EXPECT_EQ(std::memcmp(&fast, &ref, sizeof fast), 0) << "n " << n << " sum " << fast << " vs " << ref;
                if (n > 0) {  // no null pointer to memcmp
                    EXPECT_EQ(std::memcmp(w_fast.data(), w_ref.data(), n * sizeof(float)), 0) << "n " << n;
                }
                double plain = 0;  // the sum is the weights' sum, up to the order of additions
                for (const float w : w_ref) plain += w;
                EXPECT_NEAR(fast, plain, 1e-9 * std::max(1.0, plain));
                EXPECT_EQ(fast, exp_sum(x, s, scale, nullptr));
            }
        }
    }
}

TEST(softmax, exp_sum_weights_follow_the_definition) {
    const std::vector<float> x{0.0f, -1.0f, -inf, nan, inf, -200.0f, 2.0f, -0.5f, 1.0f};
    std::vector<float> w(x.size());
    const double sum = exp_sum(x, 2.0f, 0.5f, w.data());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float t = (x[i] - 2.0f) * 0.5f;
        const float want = std::isfinite(x[i]) && t > -87.0f ? std::exp(t) : 0.0f;  // below 2^-126: 0
        EXPECT_NEAR(w[i], want, 3e-7 * want) << i;
    }
    EXPECT_EQ(w[2], 0.0f);
    EXPECT_EQ(w[3], 0.0f);
    EXPECT_EQ(w[4], 0.0f);
    EXPECT_EQ(w[5], 0.0f);
    EXPECT_EQ(w[6], 1.0f);
    EXPECT_NEAR(sum, 1 + std::exp(-1.0) + std::exp(-1.5) + std::exp(-1.25) + std::exp(-0.5), 1e-6);
}

TEST(softmax, max_and_argmax_agree_with_plain_loops_on_both_paths) {
    std::mt19937 gen(5);
    for (std::size_t n : {std::size_t{1}, std::size_t{5}, std::size_t{8}, std::size_t{17}, std::size_t{4099}}) {
        for (const bool hostile : {false, true}) {
            auto x = random_row(gen, n, hostile);
            if (hostile && n > 40) x[40] = x[n - 1] = 1000.0f;  // a tie for the largest finite value
            float want_max = -inf;
            for (const float v : x) {
                if (std::isfinite(v)) want_max = std::max(want_max, v);
            }
            float top = -inf;
            for (const float v : x) {
                if (v > top) top = v;
            }
            std::size_t want_arg = 0;
            while (want_arg < n && !(x[want_arg] == top)) ++want_arg;
            if (want_arg == n) want_arg = 0;
            const auto [fm, rm] = both([&] { return max_finite(x); });
            const auto [fa, ra] = both([&] { return argmax(x); });
            EXPECT_EQ(fm, want_max);
            EXPECT_EQ(rm, want_max);
            EXPECT_EQ(fa, want_arg) << "n " << n;
            EXPECT_EQ(ra, want_arg) << "n " << n;
        }
    }
    EXPECT_EQ(max_finite(std::vector<float>{nan, -inf, inf}), -inf);
    EXPECT_EQ(argmax(std::vector<float>{nan, nan}), 0u);
    EXPECT_EQ(argmax(std::vector<float>{nan, -inf, 3.0f, inf, inf}), 3u);
}

TEST(softmax, find_at_least_and_weighted_pick_on_both_paths) {
    std::mt19937 gen(11);
    for (int trial = 0; trial < 400; ++trial) {
        const std::size_t n = 1 + gen() % (trial % 10 == 0 ? 5000 : 70);
        auto x = random_row(gen, n, trial % 2 == 1);
        const float threshold = std::normal_distribution<float>(4.0f, 4.0f)(gen);
        std::size_t want = 0;
        while (want < n && !(x[want] >= threshold)) ++want;
        const auto [ff, rf] = both([&] { return find_at_least(x, threshold); });
        EXPECT_EQ(ff, want);
        EXPECT_EQ(rf, want);

        std::vector<float> w(n);
        const double total = exp_sum(x, max_finite(x), 1.0f, w.data());
        const double r = std::uniform_real_distribution<double>(0.0, total * 1.01)(gen);  // sometimes past the mass
        std::size_t plain = n;  // the one-by-one walk, which the block walk reproduces away from rounding ties
        double left = r;
        for (std::size_t i = 0; i < n; ++i) {
            if (w[i] > 0 && (left -= w[i]) <= 0) {
                plain = i;
                break;
            }
        }
        const auto [fp, rp] = both([&] { return weighted_pick(w, r); });
        EXPECT_EQ(fp, rp) << "trial " << trial;
        if (std::fabs(left) > 1e-9 * total) {
            EXPECT_EQ(fp, plain) << "trial " << trial << " n " << n;
        }
        if (fp < n) {
            EXPECT_GT(w[fp], 0.0f);
        }
    }
    const std::vector<float> zeros(20, 0.0f);
    EXPECT_EQ(weighted_pick(zeros, 0.0), 20u);  // nothing positive: never a zero weight
    const std::vector<float> one{0, 0, 0, 0, 0, 0, 0, 0, 0, 2.0f, 0};
    EXPECT_EQ(weighted_pick(one, 0.0), 9u);
    EXPECT_EQ(weighted_pick(one, 1.5), 9u);
    EXPECT_EQ(weighted_pick(one, 2.5), 11u);
}

}  // namespace
}  // namespace sluice::kernels
