// The GEMM tile of Q2_K / Q3_K (gemm.hpp), kernels-internal and with internal linkage like
// gemm_tile.hpp. Q6_K's walk over the super-block: each 4-byte run gives 2-bit values by a
// shift and mask (Q3_K: the hmask bit moved to bit 2), dots per 16-value sub-block in
// IntDot::k4_step (exact in int16 lanes on AVX2: at most 4 x 2 x 7 x 127), scaled by the
// rows' scales (int8 pairs per lane); the sub-block sums of a (bsums) give Q3_K's "- 4"
// and Q2_K's mins.
#pragma once

#include <type_traits>

#include "gemm_tile.hpp"

namespace sluice::kernels {
namespace {

template <class D, bool Q3, std::size_t T>
inline void gemm_tile_q23k(const void* group, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) {
    using packed = std::conditional_t<Q3, packed_q3_k, packed_q2_k>;
    const std::size_t nb = a.nb;
    const block_q8_k* ar[T];
    const float* ad[T];
    __m256 acc[T];
    for (std::size_t t = 0; t < T; ++t) {
        ar[t] = static_cast<const block_q8_k*>(a.q) + (t0 + t) * nb;
        ad[t] = a.d + (t0 + t) * nb;
        acc[t] = _mm256_setzero_ps();
    }
    const __m256i m3 = _mm256_set1_epi8(3), m04 = _mm256_set1_epi8(4), lo16 = _mm256_set1_epi32(0xFFFF);
    // lane r: row r's scales 2 m, 2 m + 1 as an int16 pair (Q2_K: still with the mins in bits 4-7)
    auto scale_pairs = [&](const packed& b, int m) {
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scp[m]));
        return Q3 ? _mm256_cvtepi8_epi16(raw) : _mm256_cvtepu8_epi16(raw);
    };
    for (std::size_t i = 0; i < nb; ++i) {
        const auto& b = static_cast<const packed*>(group)[i];
        __m256i isum[T];
        for (std::size_t t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
        for (int c = 0; c < 2; ++c) {
            for (int k = 0; k < 4; ++k) {
                const char* pf = reinterpret_cast<const char*>(&b) + 4096 + sizeof(packed) / 8 * (4 * c + k);
                _mm_prefetch(pf, _MM_HINT_T0);
                _mm_prefetch(pf + 64, _MM_HINT_T0);
                __m256i scv = scale_pairs(b, 4 * c + k);
                if constexpr (!Q3) scv = _mm256_and_si256(scv, _mm256_set1_epi16(0x0F));
                for (int hs = 0; hs < 2; ++hs) {
                    __m256i s[T];
                    for (std::size_t t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
                    for (int g = 4 * hs; g < 4 * hs + 4; ++g) {
                        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs[c][g]));
                        __m256i w = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(2 * k)), m3);
                        if constexpr (Q3) {  // hmask bit 4 c + k -> bit 2 (neighbours' bits masked off)
                            const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.hm[g]));
                            const int bit = 4 * c + k;
                            const __m256i hs2 = bit >= 2 ? _mm256_srl_epi16(h, _mm_cvtsi32_si128(bit - 2)) : _mm256_sll_epi16(h, _mm_cvtsi32_si128(2 - bit));
                            w = _mm256_or_si256(w, _mm256_and_si256(hs2, m04));
                        }
                        for (std::size_t t = 0; t < T; ++t) s[t] = D::k4_step(s[t], w, broadcast4(ar[t][i].qs + 128 * c + 32 * k + 4 * g));
                    }
                    // lane r: row r's scale 2 m + hs as int32, then in the form k4_done takes
                    const __m256i sc32 = hs != 0 ? _mm256_srai_epi32(scv, 16) : _mm256_srai_epi32(_mm256_slli_epi32(scv, 16), 16);
                    const __m256i sc = D::k4_lane_scales(sc32, lo16);
                    for (std::size_t t = 0; t < T; ++t) isum[t] = D::k4_done(isum[t], s[t], sc);
                }
            }
        }
        // Q3_K: bias = sum_s sc_s * bsums_s; Q2_K: msum = sum_s m_s * bsums_s
        __m256i bias[T];
        for (std::size_t t = 0; t < T; ++t) bias[t] = _mm256_setzero_si256();
        for (int m = 0; m < 8; ++m) {
            const __m256i scv = Q3 ? scale_pairs(b, m) : _mm256_srli_epi16(scale_pairs(b, m), 4);
            for (std::size_t t = 0; t < T; ++t) {
                std::int32_t pair;
                std::memcpy(&pair, ar[t][i].bsums + 2 * m, 4);
                bias[t] = _mm256_add_epi32(bias[t], _mm256_madd_epi16(scv, _mm256_set1_epi32(pair)));
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.d)));
        for (std::size_t t = 0; t < T; ++t) {
            const __m256 da = _mm256_set1_ps(ad[t][i]);
            if constexpr (Q3) {
                const __m256i v = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(bias[t], 2));
                acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(v), acc[t]);
            } else {
                const __m256 dmw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.dmin)));
                acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[t]), acc[t]);
                acc[t] = _mm256_fnmadd_ps(_mm256_mul_ps(dmw, da), _mm256_cvtepi32_ps(bias[t]), acc[t]);
            }
        }
    }
    for (std::size_t t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

template <std::size_t T>
struct tile_q2_k { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_q23k<D, false, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_q3_k { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_q23k<D, true, T>(g, a, t0, y, ldy); } };

}  // namespace
}  // namespace sluice::kernels
