// softmax.hpp: the scalar reference and the dispatch to the AVX2 path.
#include "sluice/kernels/softmax.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "softmax_avx2.hpp"
#include "exp_poly.hpp"
#include "softmax_detail.hpp"
#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels {
namespace {

using namespace softmax_detail;
constexpr float inf = std::numeric_limits<float>::infinity();

float max_finite_scalar(std::span<const float> x) noexcept {
    float m = -inf;
    for (const float v : x) {
        if (std::fabs(v) < inf && v > m) m = v;
    }
    return m;
}

std::size_t argmax_scalar(std::span<const float> x) noexcept {
    float m = -inf;
    for (const float v : x) {
        if (v > m) m = v;  // NaN compares false
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i] == m) return i;
    }
    return 0;
}

double exp_sum_scalar(std::span<const float> x, float shift, float scale, float* weights) noexcept {
    std::array<double, lanes> acc{};
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float term = std::fabs(x[i]) < inf ? exp_approx((x[i] - shift) * scale) : 0.0f;
        if (weights != nullptr) weights[i] = term;
        acc[i % lanes] += term;
    }
    double sum = 0;
    for (const double a : acc) sum += a;
    return sum;
}

std::size_t find_at_least_scalar(std::span<const float> x, float threshold) noexcept {
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i] >= threshold) return i;
    }
    return x.size();
}

std::size_t weighted_pick_scalar(std::span<const float> w, double r) noexcept {
    const std::size_t n = w.size();
    for (std::size_t i = 0; i < n; i += lanes) {
        const std::size_t m = std::min<std::size_t>(lanes, n - i);
        std::array<double, lanes> v{};
        for (std::size_t j = 0; j < m; ++j) v[j] = w[i + j];
        const double block = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
        if (block > 0 && r - block <= 0) {
            const std::size_t j = pick_in_block(w.data() + i, m, r);
            if (j < m) return i + j;
        }
        r -= block;
    }
    return n;
}

}  // namespace

float exp_approx(float x) noexcept { return attn_exp_scalar(x); }

float max_finite(std::span<const float> x) noexcept {
    return avx2_enabled() ? avx2::max_finite(x.data(), x.size()) : max_finite_scalar(x);
}

std::size_t argmax(std::span<const float> x) noexcept {
    return avx2_enabled() ? avx2::argmax(x.data(), x.size()) : argmax_scalar(x);
}

double exp_sum(std::span<const float> x, float shift, float scale, float* weights) noexcept {
    return avx2_enabled() ? avx2::exp_sum(x.data(), x.size(), shift, scale, weights) : exp_sum_scalar(x, shift, scale, weights);
}

}  // namespace sluice::kernels

namespace sluice::kernels {

std::size_t find_at_least(std::span<const float> x, float threshold) noexcept {
    return avx2_enabled() ? avx2::find_at_least(x.data(), x.size(), threshold) : find_at_least_scalar(x, threshold);
}

std::size_t weighted_pick(std::span<const float> w, double r) noexcept {
    return avx2_enabled() ? avx2::weighted_pick(w.data(), w.size(), r) : weighted_pick_scalar(w, r);
}

}  // namespace sluice::kernels
