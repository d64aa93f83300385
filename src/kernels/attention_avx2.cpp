// The AVX2 tile kernel: the operations of attn_tile_update_reference, 8 key columns or 8
// value dimensions per instruction (every lane runs the reference's chain for its element);
// and swiglu, which shares its exp.
#include "attention_avx2.hpp"
#include "swiglu_avx2.hpp"

#include <immintrin.h>

#include <algorithm>
#include <limits>

#include "exp_poly_avx2.hpp"

namespace sluice::kernels::avx2 {
namespace {

constexpr std::size_t T = k_attn_tile;
constexpr std::size_t k_vecs = T / 8;  // vectors of scores per query

inline float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// Lane sums of 4 accumulators (keys 0..3) into their 4 scores, in the reference's order:
// ((d0 + d1) + (d2 + d3)) + ((d4 + d5) + (d6 + d7)).
inline __m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// s[a][v] = scale * (the 8-lane dot of q_a with each key row), for NQ queries and every
// column of the tile; 4 keys x NQ queries of 8-lane accumulators at a time.
// Only the 4-key groups meeting [c_lo, c_hi) are computed (the diagonal tile's later keys
// are masked for every query of the call); the others are left as they are.
template <int NQ>
inline void scores(const attn_tile& tile, attn_query* const* qs, float (*s)[T], std::size_t c_lo, std::size_t c_hi) {
    const std::size_t hd = tile.hd_k;
    const __m128 scale = _mm_set1_ps(tile.scale);
    for (std::size_t c = c_lo / 4 * 4; c < c_hi; c += 4) {
        __m256 acc[NQ][4];
        for (int a = 0; a < NQ; ++a) {
            for (int j = 0; j < 4; ++j) acc[a][j] = _mm256_setzero_ps();
        }
        const float* k = tile.k + c * hd;
        for (std::size_t i = 0; i < hd; i += 8) {
            __m256 kv[4];
            for (int j = 0; j < 4; ++j) kv[j] = _mm256_loadu_ps(k + j * hd + i);
            for (int a = 0; a < NQ; ++a) {
                const __m256 qa = _mm256_loadu_ps(qs[a]->q + i);
                for (int j = 0; j < 4; ++j) acc[a][j] = _mm256_fmadd_ps(qa, kv[j], acc[a][j]);
            }
        }
        for (int a = 0; a < NQ; ++a) {
            _mm_storeu_ps(s[a] + c, _mm_mul_ps(reduce4(acc[a][0], acc[a][1], acc[a][2], acc[a][3]), scale));
        }
    }
}

// out[i0 .. i0 + 8 NV) = fma(p_c, v_c[i], out[i]) for c in [c0, c1), in order.
template <int NV>
inline void weighted_values(const attn_tile& tile, const float* p, std::size_t c0, std::size_t c1, std::size_t i0, float* out) {
    out += i0;
    __m256 acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = _mm256_loadu_ps(out + 8 * v);
    const float* row = tile.v + c0 * tile.hd_v + i0;
    for (std::size_t c = c0; c < c1; ++c, row += tile.hd_v) {
        const __m256 pc = _mm256_broadcast_ss(p + c);
        for (int v = 0; v < NV; ++v) acc[v] = _mm256_fmadd_ps(pc, _mm256_loadu_ps(row + 8 * v), acc[v]);
    }
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(out + 8 * v, acc[v]);
}

// The online-softmax step of one query given its scores.
void update(const attn_tile& tile, attn_query& q, const float* s, std::size_t c0, std::size_t c1) {
    const __m256 lo = _mm256_set1_ps(static_cast<float>(c0)), hi = _mm256_set1_ps(static_cast<float>(c1));
    const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    __m256 masked[k_vecs], valid[k_vecs];
    __m256 m = neg_inf;
    for (std::size_t v = 0; v < k_vecs; ++v) {
        const __m256 col = _mm256_add_ps(_mm256_set1_ps(static_cast<float>(8 * v)), _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
        valid[v] = _mm256_and_ps(_mm256_cmp_ps(col, lo, _CMP_GE_OQ), _mm256_cmp_ps(col, hi, _CMP_LT_OQ));
        masked[v] = _mm256_blendv_ps(neg_inf, _mm256_loadu_ps(s + 8 * v), valid[v]);
        m = _mm256_max_ps(m, masked[v]);
    }
    const float m_tile = hmax(m);
    const float m_new = q.started ? std::max(q.max, m_tile) : m_tile;
    const float corr = q.started ? attn_exp_scalar(q.max - m_new) : 0.0f;
    alignas(32) float p[T];
    const __m256 mv = _mm256_set1_ps(m_new);
    __m256 sum = _mm256_mul_ps(_mm256_loadu_ps(q.sum), _mm256_set1_ps(corr));
    for (std::size_t v = 0; v < k_vecs; ++v) {
        const __m256 pv = _mm256_and_ps(valid[v], exp_ps(_mm256_sub_ps(masked[v], mv)));
        _mm256_store_ps(p + 8 * v, pv);
        sum = _mm256_add_ps(sum, pv);
    }
    _mm256_storeu_ps(q.sum, sum);
    const std::size_t hd_v = tile.hd_v;
    if (q.started && corr != 1.0f) {
        const __m256 cv = _mm256_set1_ps(corr);
        for (std::size_t i = 0; i < hd_v; i += 8) _mm256_storeu_ps(q.acc + i, _mm256_mul_ps(_mm256_loadu_ps(q.acc + i), cv));
    }
    std::size_t i = 0;
    for (; i + 64 <= hd_v; i += 64) weighted_values<8>(tile, p, c0, c1, i, q.acc);
    for (; i + 32 <= hd_v; i += 32) weighted_values<4>(tile, p, c0, c1, i, q.acc);
    for (; i < hd_v; i += 8) weighted_values<1>(tile, p, c0, c1, i, q.acc);
    q.max = m_new;
    q.started = true;
}

}  // namespace

void attn_tile_update(const attn_tile& tile, attn_query* qs, std::size_t n_q) noexcept {
    // The queries whose range meets the tile, with their column ranges.
    attn_query* live[2];
    std::size_t c0s[2], c1s[2];
    int n_live = 0;
    alignas(32) float s[2][T] = {};  // columns no live query sees stay 0 (and are masked)
    auto flush = [&] {
        const std::size_t c_lo = n_live == 2 ? std::min(c0s[0], c0s[1]) : c0s[0];
        const std::size_t c_hi = n_live == 2 ? std::max(c1s[0], c1s[1]) : c1s[0];
        if (n_live == 2) {
            scores<2>(tile, live, s, c_lo, c_hi);
        } else {
            scores<1>(tile, live, s, c_lo, c_hi);
        }
        for (int a = 0; a < n_live; ++a) update(tile, *live[a], s[a], c0s[a], c1s[a]);
        n_live = 0;
    };
    for (std::size_t a = 0; a < n_q; ++a) {
        attn_query& q = qs[a];
        if (q.end <= tile.j0) continue;
        const std::size_t c0 = q.lo > tile.j0 ? q.lo - tile.j0 : 0, c1 = std::min<std::size_t>(q.end - tile.j0, T);
        if (c0 >= c1) continue;
        live[n_live] = &q;
        c0s[n_live] = c0;
        c1s[n_live] = c1;
        if (++n_live == 2) flush();
    }
    if (n_live > 0) flush();
}

void attn_load_tile_f16(const std::uint16_t* const* k_rows, const std::uint16_t* const* v_rows, std::size_t c0,
                        std::size_t c1, std::size_t hd_k, std::size_t hd_v, float* k, float* v) noexcept {
    for (std::size_t c = c0; c < c1; ++c) {
        for (std::size_t i = 0; i < hd_k; i += 8) {
            _mm256_storeu_ps(k + c * hd_k + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k_rows[c] + i))));
        }
        for (std::size_t i = 0; i < hd_v; i += 8) {
            _mm256_storeu_ps(v + c * hd_v + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v_rows[c] + i))));
        }
    }
}

std::size_t swiglu(const float* g, const float* u, float* y, std::size_t n) noexcept {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 gv = _mm256_loadu_ps(g + i);
        const __m256 e = exp_ps(_mm256_xor_ps(gv, sign));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
    return i;
}

}  // namespace sluice::kernels::avx2
