// The GEMM tile of Q4_1 / Q5_1 (weights with a minimum; gemm.hpp), kernels-internal and
// with internal linkage like gemm_tile.hpp. Q4_0 / Q5_0's tile without the offset
// correction (the values are unsigned already), and a second fma per block and token for
// the minimum: m times the activation block's s (Q8_1), 8 rows at once.
#pragma once

#include <type_traits>

#include "gemm_tile.hpp"

namespace sluice::kernels {
namespace {

template <class D, bool Q5, std::size_t T>
inline void gemm_tile_q_1(const void* group, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) {
    using packed = std::conditional_t<Q5, packed_q5_1, packed_q4_1>;
    const std::size_t nb = a.nb;
    const block_q8_1* ar[T];
    __m256 acc[T];
    for (std::size_t t = 0; t < T; ++t) {
        ar[t] = static_cast<const block_q8_1*>(a.q) + (t0 + t) * nb;
        acc[t] = _mm256_setzero_ps();
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F), m10 = _mm256_set1_epi8(0x10);
    for (std::size_t i = 0; i < nb; ++i) {
        const auto& b = static_cast<const packed*>(group)[i];
        const char* pf = reinterpret_cast<const char*>(&b) + 4096;
        for (std::size_t l = 0; l < sizeof(packed); l += 64) _mm_prefetch(pf + l, _MM_HINT_T0);
        __m256i hb = _mm256_setzero_si256();
        if constexpr (Q5) hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.hb));
        __m256i s[T];
        for (std::size_t t = 0; t < T; ++t) s[t] = D::q4_init(0);
        for (int g = 0; g < 4; ++g) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g));
            __m256i lo = _mm256_and_si256(v, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            if constexpr (Q5) {  // bits g and 4 + g of hb -> bit 4 (as gemm_tile_q5)
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_sll_epi16(hb, _mm_cvtsi32_si128(4 - g)), m10));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(g)), m10));
            }
            for (std::size_t t = 0; t < T; ++t) {
                const __m256i a_lo = broadcast4(ar[t][i].qs + 4 * g), a_hi = broadcast4(ar[t][i].qs + 16 + 4 * g);
                if constexpr (Q5) {
                    s[t] = D::q5_step(D::q5_step(s[t], lo, a_lo), hi, a_hi);
                } else {
                    s[t] = D::q4_step(D::q4_step(s[t], lo, a_lo), hi, a_hi);
                }
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.d)));
        const __m256 mw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.m)));
        for (std::size_t t = 0; t < T; ++t) {
            const __m256i isum = Q5 ? D::q5_done(s[t], 0) : D::q4_done(s[t], 0);
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ar[t][i].d)), _mm256_cvtepi32_ps(isum), acc[t]);
            acc[t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(ar[t][i].s), acc[t]);
        }
    }
    for (std::size_t t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

template <std::size_t T>
struct tile_q4_1 { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_q_1<D, false, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_q5_1 { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_q_1<D, true, T>(g, a, t0, y, ldy); } };

}  // namespace
}  // namespace sluice::kernels
