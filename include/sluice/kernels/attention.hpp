// Tiled attention with an online softmax: the kernel of one key tile against a set of
// query vectors that share one KV head (the GQA heads of a group, at one or more positions).
//
// Batch invariance by construction: every query walks the same key tiles -- fixed
// k_attn_tile-wide windows of absolute key positions, [0, 32), [32, 64), ... -- in the same
// order, and within a tile each of its numbers is computed by a fixed per-query chain:
//   d_l   = fma chain over i = l, l+8, l+16, ... of q[i] * k_c[i]   (8 lanes l; c: tile column)
//   s_c   = (((d_0 + d_1) + (d_2 + d_3)) + ((d_4 + d_5) + (d_6 + d_7))) * scale
//   m'    = max(m, max_c s_c)          (over the query's valid keys only)
//   corr  = attn_exp(m - m')           (0 before the first tile)
//   p_c   = attn_exp(s_c - m')         (0 for keys outside the query's range)
//   sum_l = sum_l * corr + p_l + p_{l+8} + p_{l+16} + p_{l+24}     (8 lanes l)
//   acc   = acc * corr, then acc = fma(p_c, v_c, acc) for each valid c in order
// So a query's result depends only on its own q, its range [lo, end) and the cache rows,
// never on how many other queries share the call or where they sit. The AVX2 kernel and
// the scalar reference below compute exactly these operations (bit-identical).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::kernels {

constexpr std::size_t k_attn_tile = 32;  // keys per tile
constexpr std::size_t k_attn_lanes = 8;  // partial sums of the softmax denominator

// exp(x) for the softmax, within ~2 ulp over [-87, 88]; 0 below (and for -inf). Its own
// polynomial with explicit fmas, so the scalar and AVX2 versions agree bit for bit.
float attn_exp(float x) noexcept;

// The online-softmax state of one query vector.
struct attn_query {
    const float* q = nullptr;  // [hd_k]
    float* acc = nullptr;      // [hd_v] sum_c p_c v_c at the running max (caller-owned scratch)
    std::uint32_t lo = 0, end = 0;  // the query sees key positions [lo, end)
    float max = 0;                  // running max score (valid once `started`)
    bool started = false;
    float sum[k_attn_lanes] = {};
};

// One key tile in float: k [k_attn_tile x hd_k] and v [k_attn_tile x hd_v], row c is key
// j0 + c. Rows of keys the call's queries cannot see may hold anything, finite or not: they
// are masked by selection, never by arithmetic.
struct attn_tile {
    const float* k = nullptr;
    const float* v = nullptr;
    std::size_t j0 = 0;  // absolute position of column 0, a multiple of k_attn_tile
    std::size_t hd_k = 0, hd_v = 0;
    float scale = 1;
};

// Starts a query: acc = 0, no keys seen.
void attn_begin(attn_query& q, std::size_t hd_v) noexcept;
// Updates every query whose range meets the tile with the tile's keys (optimised kernel).
void attn_tile_update(const attn_tile& tile, attn_query* qs, std::size_t n_q) noexcept;
// The scalar reference of attn_tile_update (the same operations, one at a time).
void attn_tile_update_reference(const attn_tile& tile, attn_query* qs, std::size_t n_q) noexcept;
// out [hd_v] = acc / sum (lanes summed pairwise: ((0+1)+(2+3))+((4+5)+(6+7))).
void attn_finish(const attn_query& q, std::size_t hd_v, float* out) noexcept;

// Fills a tile's k row c and v row c from half-precision cache rows k_rows[c], v_rows[c]
// for c in [c0, c1); the other rows are left as they are.
void attn_load_tile_f16(const std::uint16_t* const* k_rows, const std::uint16_t* const* v_rows, std::size_t c0,
                        std::size_t c1, std::size_t hd_k, std::size_t hd_v, float* k, float* v) noexcept;
void attn_load_tile_f32(const float* const* k_rows, const float* const* v_rows, std::size_t c0, std::size_t c1,
                        std::size_t hd_k, std::size_t hd_v, float* k, float* v) noexcept;

// Attention of one query as llama.cpp's CPU flash attention computes it on its one-chunk
// path (fewer than 64 query rows per call, a half-precision cache), step for step:
//   q16   = q rounded to half precision
//   for each key j in order:  s = (k_j . q16) * scale
//     s > M: M = s, acc = half(acc * exp(M_old - M)) (0 before the first key), w = 1
//     else:  w = exp(s - M)
//     acc = half(fma(v_j, w, acc)) elementwise;  S = S * exp(M_old - M) + w
//   out [hd_v] = float(acc) * (1 / S)
// The value accumulator stays in half precision throughout, as there. Scalar and sequential
// over keys, so slow, and batch-invariant by construction; for models whose outputs react to
// rounding strongly enough that the tiled float kernel above lands too far from llama.cpp
// (gemma4: unscaled attention over RMS-normalised queries and keys).
void attn_f16_sequential(const float* q, const std::uint16_t* const* k_rows, const std::uint16_t* const* v_rows,
                         std::size_t n_keys, std::size_t hd_k, std::size_t hd_v, float scale, float* out);

}  // namespace sluice::kernels
