#include "sluice/kernels/attention.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "attention_avx2.hpp"
#include "exp_poly.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels {

float attn_exp(float x) noexcept { return attn_exp_scalar(x); }

void attn_begin(attn_query& q, std::size_t hd_v) noexcept {
    std::fill(q.acc, q.acc + hd_v, 0.0f);
    q.started = false;
    q.max = 0;
    std::fill(std::begin(q.sum), std::end(q.sum), 0.0f);
}

void attn_tile_update_reference(const attn_tile& tile, attn_query* qs, std::size_t n_q) noexcept {
    constexpr std::size_t T = k_attn_tile;
    const std::size_t hd_k = tile.hd_k, hd_v = tile.hd_v;
    for (std::size_t a = 0; a < n_q; ++a) {
        attn_query& q = qs[a];
        if (q.end <= tile.j0) continue;
        const std::size_t c0 = q.lo > tile.j0 ? q.lo - tile.j0 : 0;
        const std::size_t c1 = std::min<std::size_t>(q.end - tile.j0, T);
        if (c0 >= c1) continue;
        float s[T], p[T];
        float m_tile = -std::numeric_limits<float>::infinity();
        for (std::size_t c = 0; c < T; ++c) {
            float d[8] = {};
            for (std::size_t i = 0; i < hd_k; ++i) d[i % 8] = std::fma(q.q[i], tile.k[c * hd_k + i], d[i % 8]);
            s[c] = (((d[0] + d[1]) + (d[2] + d[3])) + ((d[4] + d[5]) + (d[6] + d[7]))) * tile.scale;
            if (c >= c0 && c < c1) m_tile = std::max(m_tile, s[c]);
        }
        const float m_new = q.started ? std::max(q.max, m_tile) : m_tile;
        const float corr = q.started ? attn_exp_scalar(q.max - m_new) : 0.0f;
        for (std::size_t c = 0; c < T; ++c) p[c] = c >= c0 && c < c1 ? attn_exp_scalar(s[c] - m_new) : 0.0f;
        for (std::size_t l = 0; l < k_attn_lanes; ++l) {
            float acc = q.sum[l] * corr;
            for (std::size_t c = l; c < T; c += k_attn_lanes) acc = acc + p[c];
            q.sum[l] = acc;
        }
        if (q.started && corr != 1.0f) {
            for (std::size_t i = 0; i < hd_v; ++i) q.acc[i] = q.acc[i] * corr;
        }
        for (std::size_t c = c0; c < c1; ++c) {
            for (std::size_t i = 0; i < hd_v; ++i) q.acc[i] = std::fma(p[c], tile.v[c * hd_v + i], q.acc[i]);
        }
        q.max = m_new;
        q.started = true;
    }
}

void attn_tile_update(const attn_tile& tile, attn_query* qs, std::size_t n_q) noexcept {
    if (avx2_enabled() && tile.hd_k % 8 == 0 && tile.hd_v % 8 == 0) {
        avx2::attn_tile_update(tile, qs, n_q);
        return;
    }
    attn_tile_update_reference(tile, qs, n_q);
}

void attn_finish(const attn_query& q, std::size_t hd_v, float* out) noexcept {
    const float* s = q.sum;
    const float l = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    const float inv = 1.0f / l;
    for (std::size_t i = 0; i < hd_v; ++i) out[i] = q.acc[i] * inv;
}

void attn_load_tile_f16(const std::uint16_t* const* k_rows, const std::uint16_t* const* v_rows, std::size_t c0,
                        std::size_t c1, std::size_t hd_k, std::size_t hd_v, float* k, float* v) noexcept {
    if (avx2_enabled() && hd_k % 8 == 0 && hd_v % 8 == 0) {
        avx2::attn_load_tile_f16(k_rows, v_rows, c0, c1, hd_k, hd_v, k, v);
        return;
    }
    for (std::size_t c = c0; c < c1; ++c) {
        for (std::size_t i = 0; i < hd_k; ++i) k[c * hd_k + i] = fp16_to_fp32(k_rows[c][i]);
        for (std::size_t i = 0; i < hd_v; ++i) v[c * hd_v + i] = fp16_to_fp32(v_rows[c][i]);
    }
}

void attn_load_tile_f32(const float* const* k_rows, const float* const* v_rows, std::size_t c0, std::size_t c1,
                        std::size_t hd_k, std::size_t hd_v, float* k, float* v) noexcept {
    for (std::size_t c = c0; c < c1; ++c) {
        std::copy(k_rows[c], k_rows[c] + hd_k, k + c * hd_k);
        std::copy(v_rows[c], v_rows[c] + hd_v, v + c * hd_v);
    }
}

}  // namespace sluice::kernels
