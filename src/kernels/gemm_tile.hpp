// The register-tiled integer GEMM kernel over packed 8-row groups (see gemm.hpp), shared
// by the AVX2 and AVX-VNNI translation units. Kernels-internal; internal linkage, so each
// translation unit keeps the copy compiled with its own instruction-set flags.
//
// A tile is 8 weight rows (the lanes of a vector) x T <= 4 tokens. Per block: each 32-byte
// load of the packed group gives 4 bytes of every row; each token's matching 4 activation
// bytes are broadcast to all lanes; IntDot forms the exact per-lane integer sums (AVX2:
// maddubs + madd; AVX-VNNI: dpbusd). Then, per token, one convert, one multiply (dw * da)
// and one FMA finish the block for 8 rows at once: the fma chain of gemm.hpp, lane by lane.
// The weight block is read once for the tile's tokens.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gemm.hpp"

namespace sluice::kernels {
namespace {

inline __m256i broadcast4(const std::int8_t* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

template <class D, bool Q4, std::size_t T>
inline void gemm_tile(const void* group, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    const block_q8_0* ar[T];
    const float* ad[T];
    const std::int32_t* ac[T];
    __m256 acc[T];
    for (std::size_t t = 0; t < T; ++t) {
        ar[t] = a.q + (t0 + t) * nb;
        ad[t] = a.d + (t0 + t) * nb;
        ac[t] = a.corr + (t0 + t) * nb;
        acc[t] = _mm256_setzero_ps();
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (std::size_t i = 0; i < nb; ++i) {
        const std::uint16_t* dp;
        const std::uint8_t* qs;
        if constexpr (Q4) {
            const auto& b = static_cast<const packed_q4_0*>(group)[i];
            dp = b.d;
            qs = b.qs;
            const char* pf = reinterpret_cast<const char*>(&b) + 4096;
            _mm_prefetch(pf, _MM_HINT_T0);
            _mm_prefetch(pf + 64, _MM_HINT_T0);
            _mm_prefetch(pf + 128, _MM_HINT_T0);
        } else {
            const auto& b = static_cast<const packed_q8_0*>(group)[i];
            dp = b.d;
            qs = reinterpret_cast<const std::uint8_t*>(b.qs);
            const char* pf = reinterpret_cast<const char*>(&b) + 4096;
            for (int l = 0; l < 5; ++l) _mm_prefetch(pf + 64 * l, _MM_HINT_T0);
        }
        __m256i s[T];
        if constexpr (Q4) {
            for (std::size_t t = 0; t < T; ++t) s[t] = D::q4_init(ac[t][i]);
            for (int g = 0; g < 4; ++g) {
                const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * g));
                const __m256i lo = _mm256_and_si256(v, m4);
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                for (std::size_t t = 0; t < T; ++t) {
                    s[t] = D::q4_step(s[t], lo, broadcast4(ar[t][i].qs + 4 * g));
                    s[t] = D::q4_step(s[t], hi, broadcast4(ar[t][i].qs + 16 + 4 * g));
                }
            }
            for (std::size_t t = 0; t < T; ++t) s[t] = D::q4_done(s[t], ac[t][i]);
        } else {
            for (std::size_t t = 0; t < T; ++t) s[t] = D::q8_init(ac[t][i]);
            for (int g = 0; g < 8; ++g) {
                const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * g));
                const __m256i wp = D::q8_prep(v);
                for (std::size_t t = 0; t < T; ++t) s[t] = D::q8_step(s[t], wp, v, broadcast4(ar[t][i].qs + 4 * g));
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(dp)));
        for (std::size_t t = 0; t < T; ++t) {
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(ad[t][i]));  // exact: two halves' product
            acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s[t]), acc[t]);
        }
    }
    for (std::size_t t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

// gemm_fn: tokens in tiles of 4, then one tile of the remaining 1-3.
template <class D, bool Q4>
void gemm_group(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    std::size_t t = 0;
    for (; t + 4 <= nt; t += 4) gemm_tile<D, Q4, 4>(group, a, t0 + t, y + t * ldy, ldy);
    switch (nt - t) {
        case 3: gemm_tile<D, Q4, 3>(group, a, t0 + t, y + t * ldy, ldy); break;
        case 2: gemm_tile<D, Q4, 2>(group, a, t0 + t, y + t * ldy, ldy); break;
        case 1: gemm_tile<D, Q4, 1>(group, a, t0 + t, y + t * ldy, ldy); break;
        default: break;
    }
}

template <class D>
gemm_kernel gemm_kernel_for(ggml_type type) {
    if (type == ggml_type::q4_0) return {gemm_group<D, true>, -8};
    if (type == ggml_type::q8_0) return {gemm_group<D, false>, D::q8_corr_k};
    return {};
}

}  // namespace
}  // namespace sluice::kernels
