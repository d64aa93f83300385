// The register-tiled integer GEMM kernel over packed 8-row groups (see gemm.hpp), shared
// by the AVX2 and AVX-VNNI translation units. Kernels-internal; internal linkage, so each
// translation unit keeps the copy compiled with its own instruction-set flags.
//
// A tile is 8 weight rows (the lanes of a vector) x T <= 4 tokens. Per block: each 32-byte
// load of the packed group gives 4 bytes of every row; each token's matching 4 activation
// bytes are broadcast to all lanes; IntDot forms the exact per-lane integer sums (AVX2:
// maddubs + madd; AVX-VNNI: dpbusd). Then, per token, one convert, one multiply (dw * da)
// and one FMA finish the block for 8 rows at once: the fma chain of gemm.hpp, lane by lane.
// The weight block is read once for the tile's tokens. Q4_0 / Q8_0 also have tiles of two
// adjacent groups (16 rows) x T tokens, where each broadcast feeds both groups.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "gemm.hpp"

namespace sluice::kernels {
namespace {

inline __m256i broadcast4(const std::int8_t* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

// Q5_0: Q4_0's tile with each run's fifth bits shifted into bit 4 (hb layout, gemm.hpp).
template <class D, std::size_t T>
inline void gemm_tile_q5(const void* group, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) {
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
    const __m256i m4 = _mm256_set1_epi8(0x0F), m10 = _mm256_set1_epi8(0x10);
    for (std::size_t i = 0; i < nb; ++i) {
        const auto& b = static_cast<const packed_q5_0*>(group)[i];
        const char* pf = reinterpret_cast<const char*>(&b) + 4096;
        _mm_prefetch(pf, _MM_HINT_T0);
        _mm_prefetch(pf + 64, _MM_HINT_T0);
        _mm_prefetch(pf + 128, _MM_HINT_T0);
        const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.hb));
        __m256i s[T];
        for (std::size_t t = 0; t < T; ++t) s[t] = D::q4_init(ac[t][i]);
        for (int g = 0; g < 4; ++g) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g));
            // bit g -> bit 4 (16-bit shifts: what crosses from the neighbouring byte stays below bit 4)
            const __m256i h_lo = _mm256_and_si256(_mm256_sll_epi16(hb, _mm_cvtsi32_si128(4 - g)), m10);
            const __m256i h_hi = _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(g)), m10);  // bit 4 + g -> bit 4
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(v, m4), h_lo);
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), h_hi);
            for (std::size_t t = 0; t < T; ++t) {
                s[t] = D::q5_step(s[t], lo, broadcast4(ar[t][i].qs + 4 * g));
                s[t] = D::q5_step(s[t], hi, broadcast4(ar[t][i].qs + 16 + 4 * g));
            }
        }
        for (std::size_t t = 0; t < T; ++t) s[t] = D::q5_done(s[t], ac[t][i]);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.d)));
        for (std::size_t t = 0; t < T; ++t) {
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ad[t][i])), _mm256_cvtepi32_ps(s[t]), acc[t]);
        }
    }
    for (std::size_t t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

// Q4_0 / Q8_0: G adjacent packed groups (8 G rows, group k at group + k * nb * sizeof(packed))
// x T tokens. Each token's broadcast activation run feeds one vpdpbusd (or maddubs) per group,
// so with G = 2 a broadcast load serves 16 rows and the tile has 2 T independent integer
// chains per block. Every output is still its own chain of gemm.hpp, whatever G and T.
template <class D, bool Q4, std::size_t G, std::size_t T>
inline void gemm_tile(const void* group, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) {
    using packed = std::conditional_t<Q4, packed_q4_0, packed_q8_0>;
    const std::size_t nb = a.nb;
    const block_q8_0* ar[T];
    const float* ad[T];
    const std::int32_t* ac[T];
    __m256 acc[T][G];
    for (std::size_t t = 0; t < T; ++t) {
        ar[t] = static_cast<const block_q8_0*>(a.q) + (t0 + t) * nb;
        ad[t] = a.d + (t0 + t) * nb;
        ac[t] = a.corr + (t0 + t) * nb;
        for (std::size_t k = 0; k < G; ++k) acc[t][k] = _mm256_setzero_ps();
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (std::size_t i = 0; i < nb; ++i) {
        // Prefetch 4 KiB ahead in each group's stream: past the end of group k, that stream
        // continues in group k of the next G groups (the next tile's), G - 1 groups further.
        const std::size_t pf_skip = (i * sizeof(packed) + 4096 >= nb * sizeof(packed)) ? (G - 1) * nb * sizeof(packed) : 0;
        const packed* b[G];
        for (std::size_t k = 0; k < G; ++k) {
            b[k] = static_cast<const packed*>(group) + k * nb + i;
            const char* pf = reinterpret_cast<const char*>(b[k]) + 4096 + pf_skip;
            for (std::size_t l = 0; l < (sizeof(packed) + 63) / 64; ++l) _mm_prefetch(pf + 64 * l, _MM_HINT_T0);
        }
        __m256i s[T][G];
        if constexpr (Q4) {
            for (std::size_t t = 0; t < T; ++t) {
                for (std::size_t k = 0; k < G; ++k) s[t][k] = D::q4_init(ac[t][i]);
            }
            for (int g = 0; g < 4; ++g) {
                __m256i v[G], w[G];
                for (std::size_t k = 0; k < G; ++k) {
                    v[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[k]->qs + 32 * g));
                    w[k] = _mm256_and_si256(v[k], m4);
                }
                for (std::size_t t = 0; t < T; ++t) {
                    const __m256i x = broadcast4(ar[t][i].qs + 4 * g);
                    for (std::size_t k = 0; k < G; ++k) s[t][k] = D::q4_step(s[t][k], w[k], x);
                }
                for (std::size_t k = 0; k < G; ++k) w[k] = _mm256_and_si256(_mm256_srli_epi16(v[k], 4), m4);
                for (std::size_t t = 0; t < T; ++t) {
                    const __m256i x = broadcast4(ar[t][i].qs + 16 + 4 * g);
                    for (std::size_t k = 0; k < G; ++k) s[t][k] = D::q4_step(s[t][k], w[k], x);
                }
            }
            for (std::size_t t = 0; t < T; ++t) {
                for (std::size_t k = 0; k < G; ++k) s[t][k] = D::q4_done(s[t][k], ac[t][i]);
            }
        } else {
            for (std::size_t t = 0; t < T; ++t) {
                for (std::size_t k = 0; k < G; ++k) s[t][k] = D::q8_init(ac[t][i]);
            }
            for (int g = 0; g < 8; ++g) {
                __m256i v[G], wp[G];
                for (std::size_t k = 0; k < G; ++k) {
                    v[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[k]->qs + 32 * g));
                    wp[k] = D::q8_prep(v[k]);
                }
                for (std::size_t t = 0; t < T; ++t) {
                    const __m256i x = broadcast4(ar[t][i].qs + 4 * g);
                    for (std::size_t k = 0; k < G; ++k) s[t][k] = D::q8_step(s[t][k], wp[k], v[k], x);
                }
            }
        }
        __m256 dw[G];
        for (std::size_t k = 0; k < G; ++k) dw[k] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[k]->d)));
        for (std::size_t t = 0; t < T; ++t) {
            const __m256 da = _mm256_set1_ps(ad[t][i]);
            for (std::size_t k = 0; k < G; ++k) {
                const __m256 d = _mm256_mul_ps(dw[k], da);  // exact: two halves' product
                acc[t][k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s[t][k]), acc[t][k]);
            }
        }
    }
    for (std::size_t t = 0; t < T; ++t) {
        for (std::size_t k = 0; k < G; ++k) _mm256_storeu_ps(y + t * ldy + 8 * k, acc[t][k]);
    }
}

// Q4_K / Q5_K: per sub-block j the unsigned values' integer dots (IntDot::k4_*; where those
// sum in int16 lanes, Q5_K's values up to 31 are scaled and widened every 4 runs), scaled
// by the rows' sc_j and summed over the super-block; the mins term from the prepared
// sub-block sums of a (madd of the rows' min pairs with each token's sum pairs); two fmas
// per super-block and output (gemm.hpp).
template <class D, bool Q5, std::size_t T>
inline void gemm_tile_q4k(const void* group, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) {
    using packed = std::conditional_t<Q5, packed_q5_k, packed_q4_k>;
    const std::size_t nb = a.nb;
    const block_q8_k* ar[T];
    const float* ad[T];
    const std::int32_t* ac[T];
    __m256 acc[T];
    for (std::size_t t = 0; t < T; ++t) {
        ar[t] = static_cast<const block_q8_k*>(a.q) + (t0 + t) * nb;
        ad[t] = a.d + (t0 + t) * nb;
        ac[t] = a.corr + (t0 + t) * nb * 4;
        acc[t] = _mm256_setzero_ps();
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F), m10 = _mm256_set1_epi8(0x10);
    for (std::size_t i = 0; i < nb; ++i) {
        const auto& b = static_cast<const packed*>(group)[i];
        __m256i isum[T];
        for (std::size_t t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
        for (int j = 0; j < 8; ++j) {
            const char* pf = reinterpret_cast<const char*>(&b) + 4096 + sizeof(packed) / 8 * j;
            _mm_prefetch(pf, _MM_HINT_T0);
            _mm_prefetch(pf + 64, _MM_HINT_T0);
            _mm_prefetch(pf + 128, _MM_HINT_T0);
            const std::uint8_t* qs = b.qs + 256 * (j >> 1);
            const __m256i sc = D::k4_scales(b.sc[j]);
            __m256i s[T];
            for (std::size_t t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
            for (int g = 0; g < 8; ++g) {
                const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * g));
                __m256i w = (j & 1) != 0 ? _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) : _mm256_and_si256(v, m4);
                if constexpr (Q5) {  // bit j of each qh byte -> bit 4 (16-bit shifts: neighbours' bits are masked off)
                    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * g));
                    const __m256i hs = j < 4 ? _mm256_sll_epi16(h, _mm_cvtsi32_si128(4 - j)) : _mm256_srl_epi16(h, _mm_cvtsi32_si128(j - 4));
                    w = _mm256_or_si256(w, _mm256_and_si256(hs, m10));
                }
                for (std::size_t t = 0; t < T; ++t) s[t] = D::k4_step(s[t], w, broadcast4(ar[t][i].qs + 32 * j + 4 * g));
                if constexpr (Q5 && D::k4_int16) {  // Q5_K's values up to 31: int16 lanes hold 4 runs at most
                    if (g == 3) {
                        for (std::size_t t = 0; t < T; ++t) {
                            isum[t] = D::k4_done(isum[t], s[t], sc);
                            s[t] = _mm256_setzero_si256();
                        }
                    }
                }
            }
            for (std::size_t t = 0; t < T; ++t) isum[t] = D::k4_done(isum[t], s[t], sc);
        }
        __m256i msum[T];
        for (std::size_t t = 0; t < T; ++t) msum[t] = _mm256_setzero_si256();
        for (int k = 0; k < 4; ++k) {
            const __m256i mn = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.mn[k])));
            for (std::size_t t = 0; t < T; ++t) msum[t] = _mm256_add_epi32(msum[t], _mm256_madd_epi16(mn, _mm256_set1_epi32(ac[t][4 * i + k])));
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.d)));
        const __m256 dmw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.dmin)));
        for (std::size_t t = 0; t < T; ++t) {
            const __m256 da = _mm256_set1_ps(ad[t][i]);
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[t]), acc[t]);
            acc[t] = _mm256_fnmadd_ps(_mm256_mul_ps(dmw, da), _mm256_cvtepi32_ps(msum[t]), acc[t]);
        }
    }
    for (std::size_t t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

// Q6_K: the 6-bit values rebuilt per 4-byte run from the packed low nibbles and high bit
// pairs, dots per 16-value sub-block scaled by the rows' signed scales; the "- 32" through
// the activations' per-16 sums (bsums read as int16 pairs); one fma per super-block.
template <class D, std::size_t T>
inline void gemm_tile_q6k(const void* group, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    const block_q8_k* ar[T];
    const float* ad[T];
    __m256 acc[T];
    for (std::size_t t = 0; t < T; ++t) {
        ar[t] = static_cast<const block_q8_k*>(a.q) + (t0 + t) * nb;
        ad[t] = a.d + (t0 + t) * nb;
        acc[t] = _mm256_setzero_ps();
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    for (std::size_t i = 0; i < nb; ++i) {
        const auto& b = static_cast<const packed_q6_k*>(group)[i];
        __m256i isum[T];
        for (std::size_t t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
        for (int c = 0; c < 2; ++c) {
            for (int g4 = 0; g4 < 4; ++g4) {
                const char* pf = reinterpret_cast<const char*>(&b) + 4096 + 210 * (4 * c + g4);
                for (int l = 0; l < 4; ++l) _mm_prefetch(pf + 64 * l, _MM_HINT_T0);
                const __m256i scv = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scp[4 * c + g4])));
                for (int hs = 0; hs < 2; ++hs) {
                    __m256i s[T];
                    for (std::size_t t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
                    for (int g = 4 * hs; g < 4 * hs + 4; ++g) {
                        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql[c][g4 & 1][g]));
                        const __m256i lo = (g4 >> 1) != 0 ? _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) : _mm256_and_si256(v, m4);
                        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh[c][g]));
                        __m256i hi;
                        switch (g4) {  // bits 2 g4, 2 g4 + 1 of each qh byte -> bits 4, 5
                            case 0: hi = _mm256_slli_epi16(h, 4); break;
                            case 1: hi = _mm256_slli_epi16(h, 2); break;
                            case 2: hi = h; break;
                            default: hi = _mm256_srli_epi16(h, 2); break;
                        }
                        const __m256i w = _mm256_or_si256(lo, _mm256_and_si256(hi, m30));
                        for (std::size_t t = 0; t < T; ++t) s[t] = D::k6_step(s[t], w, broadcast4(ar[t][i].qs + 128 * c + 32 * g4 + 4 * g));
                    }
                    // lane r: row r's scale 2m + hs, from the int16 pairs
                    const __m256i sc = hs != 0 ? _mm256_srai_epi32(scv, 16) : _mm256_srai_epi32(_mm256_slli_epi32(scv, 16), 16);
                    for (std::size_t t = 0; t < T; ++t) isum[t] = _mm256_add_epi32(isum[t], _mm256_mullo_epi32(s[t], sc));
                }
            }
        }
        __m256i bias[T];
        for (std::size_t t = 0; t < T; ++t) bias[t] = _mm256_setzero_si256();
        for (int m = 0; m < 8; ++m) {
            const __m256i scv = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scp[m])));
            for (std::size_t t = 0; t < T; ++t) {
                std::int32_t pair;
                std::memcpy(&pair, ar[t][i].bsums + 2 * m, 4);
                bias[t] = _mm256_add_epi32(bias[t], _mm256_madd_epi16(scv, _mm256_set1_epi32(pair)));
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.d)));
        for (std::size_t t = 0; t < T; ++t) {
            const __m256i v = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(bias[t], 5));
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ad[t][i])), _mm256_cvtepi32_ps(v), acc[t]);
        }
    }
    for (std::size_t t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

template <std::size_t T>
struct tile_q6_k { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_q6k<D, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_q5_0 { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_q5<D, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_q4_0 { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile<D, true, 1, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_q8_0 { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile<D, false, 1, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_q4_0_pair { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile<D, true, 2, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_q8_0_pair { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile<D, false, 2, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_q4_k { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_q4k<D, false, T>(g, a, t0, y, ldy); } };
template <std::size_t T>
struct tile_q5_k { template <class D> static void run(const void* g, const gemm_acts& a, std::size_t t0, float* y, std::size_t ldy) { gemm_tile_q4k<D, true, T>(g, a, t0, y, ldy); } };

}  // namespace
}  // namespace sluice::kernels
