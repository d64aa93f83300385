// attn_exp_scalar (exp_poly.hpp) on 8 lanes, bit for bit, for the AVX2 translation units
// (attention, SwiGLU, the sampling reductions of softmax.hpp); include only from files
// compiled with -mavx2 -mfma. Kernels-internal.
#pragma once

#include <immintrin.h>

#include "exp_poly.hpp"

namespace sluice::kernels {
namespace {

// attn_exp_scalar on 8 lanes.
inline __m256 exp_ps(__m256 x) {
    const __m256 live = _mm256_cmp_ps(x, _mm256_set1_ps(k_exp_lo), _CMP_GE_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(k_exp_lo)), _mm256_set1_ps(k_exp_hi));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(k_log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-k_ln2_hi), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-k_ln2_lo), r);
    __m256 p = _mm256_set1_ps(k_exp_p[0]);
    for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(k_exp_p[i]));
    __m256 y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(live, _mm256_mul_ps(y, _mm256_castsi256_ps(bits)));
}

}  // namespace
}  // namespace sluice::kernels
