// The GEMM tiles of IQ4_NL / IQ4_XS (gemm.hpp), kernels-internal and with internal linkage
// like gemm_tile.hpp. The nibbles index the 16-entry codebook with one pshufb per 32-byte
// load (both 128-bit halves hold the table); their dots with the activations run as
// Q8_0's (IntDot::q8_*: AVX2 multiplies |w| by a with w's sign, AVX-VNNI w + 128 with the
// -128 x sum of a correction, the + 128 folded into its table).
#pragma once

#include "gemm_tile.hpp"

namespace sluice::kernels {
namespace {

// The codebook in both 128-bit halves, in the form IntDot::q8_prep gives (so the lookup
// yields the prepared weights directly; AVX-VNNI: t + 128).
template <class D>
inline __m256i iq4_table() {
    return D::q8_prep_table(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k_iq4_values))));
}

// One Q4_0-laid-out block of 8 rows (4 runs) against T tokens' 32 activation bytes each:
// s[t] += the rows' codebook dots (the accumulators start at IntDot::q8_init).
template <class D, std::size_t T>
inline void iq4_block(const std::uint8_t* qs, const __m256i table, const std::int8_t* const* aq, __m256i* s) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int g = 0; g < 4; ++g) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * g));
        const __m256i lo = _mm256_shuffle_epi8(table, _mm256_and_si256(v, m4));
        const __m256i hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
        const __m256i lo_p = D::q8_prep_looked_up(lo), hi_p = D::q8_prep_looked_up(hi);
        for (std::size_t t = 0; t < T; ++t) {
            s[t] = D::q8_step(s[t], lo_p, lo, broadcast4(aq[t] + 4 * g));
            s[t] = D::q8_step(s[t], hi_p, hi, broadcast4(aq[t] + 16 + 4 * g));
        }
    }
}

template <class D, std::size_t T>
inline void gemm_tile_iq4_nl(const void* group, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    const block_q8_0* ar[T];
    const float* ad[T];
    const std::int32_t* ac[T];
    __m256 acc[T];
    for (std::size_t t = 0; t < T; ++t) {
        ar[t] = static_cast<const block_q8_0*>(a.q) + (t0 + t) * nb;
        ad[t] = a.d + (t0 + t) * nb;
        ac[t] = a.corr + (t0 + t) * nb;
        acc[t] = _mm256_setzero_ps();
    }
    const __m256i table = iq4_table<D>();
    for (std::size_t i = 0; i < nb; ++i) {
        const auto& b = static_cast<const packed_q4_0*>(group)[i];
        const char* pf = reinterpret_cast<const char*>(&b) + 4096;
        _mm_prefetch(pf, _MM_HINT_T0);
        _mm_prefetch(pf + 64, _MM_HINT_T0);
        _mm_prefetch(pf + 128, _MM_HINT_T0);
        __m256i s[T];
        const std::int8_t* aq[T];
        for (std::size_t t = 0; t < T; ++t) {
            s[t] = D::q8_init(ac[t][i]);
            aq[t] = ar[t][i].qs;
        }
        iq4_block<D, T>(b.qs, table, aq, s);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.d)));
        for (std::size_t t = 0; t < T; ++t) {
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ad[t][i])), _mm256_cvtepi32_ps(s[t]), acc[t]);
        }
    }
    for (std::size_t t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

// IQ4_XS: per sub-block j the codebook dots (the VNNI correction from the bsums of a),
// times the rows' signed scales, summed over the super-block; one fma per super-block.
template <class D, std::size_t T>
inline void gemm_tile_iq4_xs(const void* group, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    const block_q8_k* ar[T];
    const float* ad[T];
    __m256 acc[T];
    for (std::size_t t = 0; t < T; ++t) {
        ar[t] = static_cast<const block_q8_k*>(a.q) + (t0 + t) * nb;
        ad[t] = a.d + (t0 + t) * nb;
        acc[t] = _mm256_setzero_ps();
    }
    const __m256i table = iq4_table<D>();
    for (std::size_t i = 0; i < nb; ++i) {
        const auto& b = static_cast<const packed_iq4_xs*>(group)[i];
        __m256i isum[T];
        for (std::size_t t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
        for (int j = 0; j < 8; ++j) {
            const char* pf = reinterpret_cast<const char*>(&b) + 4096 + sizeof(packed_iq4_xs) / 8 * j;
            _mm_prefetch(pf, _MM_HINT_T0);
            _mm_prefetch(pf + 64, _MM_HINT_T0);
            _mm_prefetch(pf + 128, _MM_HINT_T0);
            __m256i s[T];
            const std::int8_t* aq[T];
            for (std::size_t t = 0; t < T; ++t) {
                s[t] = D::q8_init(D::q8_corr_k * (ar[t][i].bsums[2 * j] + ar[t][i].bsums[2 * j + 1]));
                aq[t] = ar[t][i].qs + 32 * j;
            }
            iq4_block<D, T>(b.qs + 128 * j, table, aq, s);
            const __m256i sc = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.sc[j])));
            for (std::size_t t = 0; t < T; ++t) isum[t] = _mm256_add_epi32(isum[t], _mm256_mullo_epi32(s[t], sc));
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.d)));
        for (std::size_t t = 0; t < T; ++t) {
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ad[t][i])), _mm256_cvtepi32_ps(isum[t]), acc[t]);
        }
    }
    for (std::size_t t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

template <std::size_t T>
struct tile_iq4_nl { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_iq4_nl<D, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_iq4_xs { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_iq4_xs<D, T>(g, a, t0, y, ldy); } };

}  // namespace
}  // namespace sluice::kernels
