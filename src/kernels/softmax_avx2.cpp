// softmax_avx2.hpp. Compiled with -mavx2 -mfma; every operation mirrors the scalar
// reference in softmax.cpp (same constants, same fma/mul/add sequence, same sum lanes).
#include "softmax_avx2.hpp"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <limits>

#include "exp_poly_avx2.hpp"
#include "softmax_detail.hpp"

namespace sluice::kernels::avx2 {
namespace {

using namespace softmax_detail;
constexpr float inf = std::numeric_limits<float>::infinity();

__m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

float hmax(__m256 v) {
    alignas(32) std::array<float, 8> a;
    _mm256_store_ps(a.data(), v);
    float m = a[0];
    for (int i = 1; i < 8; ++i) m = std::max(m, a[i]);
    return m;
}

// exp((x - shift) * scale) for 8 values, 0 where x is not finite or the term underflows.
__m256 exp_terms(__m256 x, __m256 shift, __m256 scale) {
    const __m256 finite = _mm256_cmp_ps(abs_ps(x), _mm256_set1_ps(inf), _CMP_LT_OQ);
    return _mm256_and_ps(finite, exp_ps(_mm256_mul_ps(_mm256_sub_ps(x, shift), scale)));
}

}  // namespace

float max_finite(const float* x, std::size_t n) noexcept {
    const __m256 ninf = _mm256_set1_ps(-inf), pinf = _mm256_set1_ps(inf);
    __m256 m = ninf;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 finite = _mm256_cmp_ps(abs_ps(v), pinf, _CMP_LT_OQ);
        m = _mm256_max_ps(m, _mm256_blendv_ps(ninf, v, finite));
    }
    float best = hmax(m);
    for (; i < n; ++i) {
        if (x[i] > -inf && x[i] < inf && x[i] > best) best = x[i];
    }
    return best;
}

std::size_t argmax(const float* x, std::size_t n) noexcept {
    __m256 m = _mm256_set1_ps(-inf);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);  // a NaN in x yields m
    float best = hmax(m);
    for (; i < n; ++i) {
        if (x[i] > best) best = x[i];
    }
    const __m256 target = _mm256_set1_ps(best);
    for (i = 0; i + 8 <= n; i += 8) {
        const int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), target, _CMP_EQ_OQ));
        if (hits != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(hits)));
    }
    for (; i < n; ++i) {
        if (x[i] == best) return i;
    }
    return 0;
}

double exp_sum(const float* x, std::size_t n, float shift, float scale, float* weights) noexcept {
    const __m256 vs = _mm256_set1_ps(shift), vk = _mm256_set1_ps(scale);
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();  // lanes 0-3 and 4-7
    auto add = [&](__m256 t) {
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(t)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(t, 1)));
    };
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 t = exp_terms(_mm256_loadu_ps(x + i), vs, vk);
        if (weights != nullptr) _mm256_storeu_ps(weights + i, t);
        add(t);
    }
    if (i < n) {  // the tail, padded with NaN (a term of 0, and adding 0.0 changes no lane)
        alignas(32) std::array<float, 8> buf;
        buf.fill(std::numeric_limits<float>::quiet_NaN());
        std::copy(x + i, x + n, buf.begin());
        const __m256 t = exp_terms(_mm256_load_ps(buf.data()), vs, vk);
        _mm256_store_ps(buf.data(), t);
        if (weights != nullptr) std::copy(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n - i), weights + i);
        add(t);
    }
    alignas(32) std::array<double, 8> acc;
    _mm256_store_pd(acc.data(), lo);
    _mm256_store_pd(acc.data() + 4, hi);
    double sum = 0;
    for (const double a : acc) sum += a;
    return sum;
}

}  // namespace sluice::kernels::avx2

namespace sluice::kernels::avx2 {

std::size_t find_at_least(const float* x, std::size_t n, float threshold) noexcept {
    const __m256 t = _mm256_set1_ps(threshold);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), t, _CMP_GE_OQ));
        if (hits != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(hits)));
    }
    for (; i < n; ++i) {
        if (x[i] >= threshold) return i;
    }
    return n;
}

std::size_t weighted_pick(const float* w, std::size_t n, double r) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(w + i);
        // a = (w0+w4, w1+w5, w2+w6, w3+w7); b = (a0+a2, a1+a3); block = b0 + b1
        const __m256d a = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        const __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
        const double block = _mm_cvtsd_f64(b) + _mm_cvtsd_f64(_mm_unpackhi_pd(b, b));
        if (block > 0 && r - block <= 0) {
            const std::size_t j = pick_in_block(w + i, 8, r);
            if (j < 8) return i + j;
        }
        r -= block;
    }
    if (i < n) {  // the tail: a block padded with zero weights, summed in the same order
        alignas(32) std::array<double, 8> v{};
        for (std::size_t j = 0; j < n - i; ++j) v[j] = w[i + j];
        const double block = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
        if (block > 0 && r - block <= 0) {
            const std::size_t j = pick_in_block(w + i, n - i, r);
            if (j < n - i) return i + j;
        }
    }
    return n;
}

}  // namespace sluice::kernels::avx2
