// SIMD helpers for the AVX2 translation unit. Kernels-internal. Everything here has
// internal linkage, so each translation unit keeps the copy compiled with its own instruction-set flags (no
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

}  // namespace
}  // namespace sluice::kernels
