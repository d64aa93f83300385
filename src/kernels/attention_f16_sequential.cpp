// llama.cpp's one-chunk CPU flash attention, reproduced for one query (kernels/attention.hpp).
#include <cmath>
#include <cstdint>
#include <vector>

#include "sluice/kernels/attention.hpp"
#include "sluice/kernels/fp16.hpp"

namespace sluice::kernels {
namespace {

// k . q over n half-precision products as ggml_vec_dot_f16 sums them in an AVX-512 build:
// per 64 elements, 4 x 16 lanes of fma chains, the 4 vectors added pairwise ((0+2)+(1+3)),
// the 16 lanes reduced 8+8, 4+4, (0+2)+(1+3); the rest one by one in double.
float dot_f16(const std::uint16_t* k, const float* q, std::size_t n) {
    constexpr std::size_t step = 64, lanes = 16;
    const std::size_t np = n & ~(step - 1);
    double sum = 0.0;
    if (np > 0) {
        float acc[4][lanes] = {};
        for (std::size_t i = 0; i < np; i += step) {
            for (std::size_t j = 0; j < 4; ++j) {
                for (std::size_t l = 0; l < lanes; ++l) {
                    const std::size_t e = i + j * lanes + l;
                    acc[j][l] = std::fma(fp16_to_fp32(k[e]), q[e], acc[j][l]);
                }
            }
        }
        float r[lanes];
        for (std::size_t l = 0; l < lanes; ++l) r[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
        float t3[8], t6[4];
        for (std::size_t l = 0; l < 8; ++l) t3[l] = r[8 + l] + r[l];
        for (std::size_t l = 0; l < 4; ++l) t6[l] = t3[4 + l] + t3[l];
        sum = static_cast<double>((t6[0] + t6[2]) + (t6[1] + t6[3]));
    }
    for (std::size_t i = np; i < n; ++i) sum += static_cast<double>(fp16_to_fp32(k[i]) * q[i]);
    return static_cast<float>(sum);
}

}  // namespace

void attn_f16_sequential(const float* q, const std::uint16_t* const* k_rows, const std::uint16_t* const* v_rows,
                         std::size_t n_keys, std::size_t hd_k, std::size_t hd_v, float scale, float* out) {
    thread_local std::vector<float> q16;
    thread_local std::vector<std::uint16_t> acc;
    q16.resize(hd_k);
    acc.assign(hd_v, 0);
    for (std::size_t i = 0; i < hd_k; ++i) q16[i] = fp16_to_fp32(fp32_to_fp16(q[i]));
    float m = -INFINITY, sum = 0.0f;
    for (std::size_t j = 0; j < n_keys; ++j) {
        const std::uint16_t* k = k_rows[j];
        const float s = dot_f16(k, q16.data(), hd_k) * scale;
        float ms = 1.0f, vs = 1.0f;
        if (s > m) {
            const float m_old = m;
            m = s;
            ms = std::exp(m_old - m);
            for (auto& a : acc) a = fp32_to_fp16(fp16_to_fp32(a) * ms);
        } else {
            vs = std::exp(s - m);
        }
        const std::uint16_t* v = v_rows[j];
        for (std::size_t i = 0; i < hd_v; ++i) acc[i] = fp32_to_fp16(std::fma(fp16_to_fp32(v[i]), vs, fp16_to_fp32(acc[i])));
        sum = std::fma(sum, ms, vs);  // S*ms + vs, contracted as ggml compiles it
    }
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    for (std::size_t i = 0; i < hd_v; ++i) out[i] = fp16_to_fp32(acc[i]) * inv;
}

}  // namespace sluice::kernels
