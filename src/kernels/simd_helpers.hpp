// SIMD helpers and the multi-row integer dot template shared by the AVX2 and AVX-VNNI
// translation units. Kernels-internal. Everything here has internal linkage, so each
// translation unit keeps the copy compiled with its own instruction-set flags (no
// inline function compiled for one ISA can be picked by the linker for the other).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "sluice/kernels/quant_blocks.hpp"
#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels {
namespace {

// F16C is guaranteed in this translation unit: one instruction instead of the portable decode.
inline float h2f(std::uint16_t h) { return _cvtsh_ss(h); }

// Decode streams every weight once: prefetching a few hundred bytes ahead hides the
// load latency that otherwise dominates the integer dot products.
// 4 KiB ahead measured best on the project machine (bench/engine_bench: 256 B 108 tok/s,
// 1 KiB 161, 2 KiB 176, 4 KiB 177 for Q4_0 generation).
constexpr int k_prefetch_bytes = 4096;

// Prefetches the cache lines of the block k_prefetch_bytes after `block`.
inline void prefetch_block(const void* block, std::size_t bytes) {
    const char* p = static_cast<const char*>(block) + k_prefetch_bytes;
    for (std::size_t off = 0; off < bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

inline float hsum(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// Sum of products of 32 signed bytes, as 8 int32 lanes.
inline __m256i dot_s8(__m256i x, __m256i y) {
    const __m256i ax = _mm256_sign_epi8(x, x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

// 32 nibbles of a legacy block as bytes 0..15 (low nibbles) then 16..31 (high nibbles).
inline __m256i unpack_nibbles(const std::uint8_t* qs) {
    const __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp), _mm256_set1_epi8(0x0F));
}

// N activation rows against one weight row (Q4_0 or Q8_0 weights, Q8_0 activations):
// the weight block is decoded once, and each row's accumulator gets exactly the values and
// operations of the single-row kernels dot_q4_0 / dot_q8_0 (the same scale product dw * da,
// the same integer lanes -- integer sums are exact whichever instructions form them -- the
// same FMA order and final sum), so the results are bit-identical to N single calls; batch
// invariance depends on it. What is cheaper: the scale products of all rows come from one
// vector multiply, and Q4_0 multiplies its unsigned nibbles directly, subtracting the
// prepared -8 * (sum of each 4 activation bytes): sum (q - 8) a = sum q a - 8 sum a.
// IntDot supplies the integer lanes (AVX2: maddubs + madd; AVX-VNNI: dpbusd).
template <class IntDot, bool Q4, std::size_t N>
void dotn_q8_acts(std::size_t n, const void* w, const act_group& g, float* out) {
    __m256 acc[N];
    for (std::size_t k = 0; k < N; ++k) acc[k] = _mm256_setzero_ps();
    for (std::size_t i = 0; i < n / 32; ++i) {
        __m256i qx;
        float dw;
        if constexpr (Q4) {
            const auto& b = static_cast<const block_q4_0*>(w)[i];
            _mm_prefetch(reinterpret_cast<const char*>(&b) + k_prefetch_bytes, _MM_HINT_T0);
            qx = unpack_nibbles(b.qs);  // unsigned 0..15
            dw = h2f(b.d);
        } else {
            const auto& b = static_cast<const block_q8_0*>(w)[i];
            _mm_prefetch(reinterpret_cast<const char*>(&b) + k_prefetch_bytes, _MM_HINT_T0);
            qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
            dw = h2f(b.d);
        }
        const __m256i ax = Q4 ? qx : _mm256_sign_epi8(qx, qx);
        const __m256 d = _mm256_mul_ps(_mm256_set1_ps(dw), _mm256_loadu_ps(g.scales.data() + i * 8));  // lane k: dw * da_k
        const std::int32_t* sums = Q4 ? g.sums.data() + i * N * 8 : nullptr;
        for (std::size_t k = 0; k < N; ++k) {
            const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const block_q8_0*>(g.rows[k])[i].qs));
            __m256i p;
            if constexpr (Q4) {
                p = IntDot::q4(ax, a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums + k * 8)));
            } else {
                p = IntDot::q8(ax, qx, a);
            }
            const __m256 dk = _mm256_permutevar8x32_ps(d, _mm256_set1_epi32(static_cast<int>(k)));
            acc[k] = _mm256_fmadd_ps(dk, _mm256_cvtepi32_ps(p), acc[k]);
        }
    }
    for (std::size_t k = 0; k < N; ++k) out[k] = hsum(acc[k]);
}

// The multi-row kernel for a weight type and row count, or nullptr.
template <class IntDot>
dotn_fn multi_row_dot(ggml_type type, std::size_t n_act) {
    const bool q4 = type == ggml_type::q4_0;
    if (!q4 && type != ggml_type::q8_0) return nullptr;
    if (n_act == 8) return q4 ? dotn_q8_acts<IntDot, true, 8> : dotn_q8_acts<IntDot, false, 8>;
    if (n_act == 4) return q4 ? dotn_q8_acts<IntDot, true, 4> : dotn_q8_acts<IntDot, false, 4>;
    return nullptr;
}

}  // namespace
}  // namespace sluice::kernels
