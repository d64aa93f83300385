#include "avx2_kernels.hpp"

#include <immintrin.h>

#include <cstring>

#include "gemm_kernels.hpp"
#include "k_scales.hpp"
#include "simd_helpers.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/quant_blocks.hpp"

namespace sluice::kernels::avx2 {
namespace {

float dot_f32(std::size_t n, const void* w, const void* x) {
    const auto* a = static_cast<const float*>(w);
    const auto* b = static_cast<const float*>(x);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float s = hsum(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

float dot_f16(std::size_t n, const void* w, const void* x) {
    const auto* a = static_cast<const std::uint16_t*>(w);
    const auto* b = static_cast<const float*>(x);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
        const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + 8)));
        s0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(b + i + 8), s1);
    }
    float s = hsum(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) s += h2f(a[i]) * b[i];
    return s;
}

float dot_bf16(std::size_t n, const void* w, const void* x) {
    const auto* a = static_cast<const std::uint16_t*>(w);
    const auto* b = static_cast<const float*>(x);
    __m256 s0 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
        const __m256 wv = _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
        s0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(b + i), s0);
    }
    float s = hsum(s0);
    for (; i < n; ++i) s += bf16_to_fp32(a[i]) * b[i];
    return s;
}

// dot + d * isum as one rounding (the fma chain of gemm.hpp).
inline float fma_step(float acc, float d, std::int32_t isum) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(d), _mm_set_ss(static_cast<float>(isum)), _mm_set_ss(acc)));
}

// Q4_0 / Q8_0: per block the exact integer dot, then acc = fma(dw * da, isum, acc) (gemm.hpp),
// so a lone row gets exactly what the GEMM gives it.
float dot_q4_0(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q4_0*>(w);
    const auto* a = static_cast<const block_q8_0*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(b + i) + k_prefetch_bytes, _MM_HINT_T0);
        const __m256i qx = _mm256_sub_epi8(unpack_nibbles(b[i].qs), _mm256_set1_epi8(8));
        const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs));
        acc = fma_step(acc, h2f(b[i].d) * h2f(a[i].d), hsum_i32(dot_s8(qx, qy)));
    }
    return acc;
}

float dot_q8_0(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q8_0*>(w);
    const auto* a = static_cast<const block_q8_0*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(b + i) + k_prefetch_bytes, _MM_HINT_T0);
        const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
        const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs));
        acc = fma_step(acc, h2f(b[i].d) * h2f(a[i].d), hsum_i32(dot_s8(qx, qy)));
    }
    return acc;
}

// The integer part of the GEMM tile with AVX2 instructions (see gemm_tile.hpp).
struct avx2_gemm_dot {
    static constexpr int q8_corr_k = 0;
    // Q4_0: unsigned nibbles times signed bytes, pairs summed in int16 lanes (at most
    // 8 x 2 x 15 x 127 = 30480 in magnitude: exact), widened once per block.
    // The 16-row pair tile measured ~8% slower here than the 8-row tile (register pressure
    // of maddubs + add per step), so Q4_0 keeps the 8-row tile on AVX2.
    static constexpr bool q4_pair = false;
    static __m256i q4_init(std::int32_t) { return _mm256_setzero_si256(); }
    static __m256i q4_step(__m256i s, __m256i w, __m256i a) { return _mm256_add_epi16(s, _mm256_maddubs_epi16(w, a)); }
    static __m256i q4_done(__m256i s, std::int32_t corr) {
        return _mm256_add_epi32(_mm256_madd_epi16(s, _mm256_set1_epi16(1)), _mm256_set1_epi32(corr));
    }
    // Q5_0: values up to 31, so pair sums (at most 7874) are widened at each step.
    static __m256i q5_step(__m256i s, __m256i w, __m256i a) {
        return _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1)));
    }
    static __m256i q5_done(__m256i s, std::int32_t corr) { return _mm256_add_epi32(s, _mm256_set1_epi32(corr)); }
    // Q8_0: |w| times a with w's sign.
    static __m256i q8_init(std::int32_t) { return _mm256_setzero_si256(); }
    static __m256i q8_prep(__m256i w) { return _mm256_sign_epi8(w, w); }
    // IQ4: the signed codebook; |w| after each lookup.
    static __m256i q8_prep_table(__m256i t) { return t; }
    static __m256i q8_prep_looked_up(__m256i w) { return _mm256_sign_epi8(w, w); }
    static __m256i q8_step(__m256i s, __m256i w_abs, __m256i w, __m256i a) {
        return _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(a, w)), _mm256_set1_epi16(1)));
    }
    // Q4_K: a sub-block's pair sums in int16 lanes (at most 30480: exact; Q5_K's, flushed
    // every 4 runs, at most 4 x 2 x 31 x 127 = 31496), then madd with the rows' scales (each
    // row's scale in both int16 halves of its lane).
    static constexpr bool k4_int16 = true;
    static __m256i k4_step(__m256i s, __m256i w, __m256i a) { return _mm256_add_epi16(s, _mm256_maddubs_epi16(w, a)); }
    static __m256i k4_scales(const std::uint8_t* sc) {
        const __m256i x = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc)));
        return _mm256_or_si256(x, _mm256_slli_epi32(x, 16));
    }
    static __m256i k4_done(__m256i isum, __m256i s, __m256i sc) { return _mm256_add_epi32(isum, _mm256_madd_epi16(s, sc)); }
    // Per-lane int32 scales (Q2_K / Q3_K) in k4_done's form: the scale in both int16 halves.
    static __m256i k4_lane_scales(__m256i sc32, __m256i lo16) { return _mm256_or_si256(_mm256_and_si256(sc32, lo16), _mm256_slli_epi32(sc32, 16)); }
    // Q6_K: values up to 63, so pair sums (at most 16002) are widened at once.
    static __m256i k6_step(__m256i s, __m256i w, __m256i a) {
        return _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1)));
    }
};

// Q4_K: sum = d * sum_j sc_j * (q . a)_j - dmin * sum_j m_j * (sum of a over sub-block j),
// as the two fmas per super-block of gemm.hpp.
float dot_q4_k(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q4_k*>(w);
    const auto* a = static_cast<const block_q8_k*>(x);
    float sum = 0;
    const __m256i mask = _mm256_set1_epi8(0x0F);
    for (std::size_t i = 0; i < n / qk_k; ++i) {
        prefetch_block(b + i, sizeof(block_q4_k));
        std::uint8_t sc[8], mn[8];
        for (int j = 0; j < 8; ++j) k_scale_min(j, b[i].scales, sc[j], mn[j]);
        int msum = 0;
        for (int j = 0; j < 8; ++j) msum += mn[j] * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
        __m256i isum = _mm256_setzero_si256();
        for (int k = 0; k < 4; ++k) {
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * k));
            const __m256i lo = _mm256_and_si256(q, mask);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask);
            const __m256i a_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 64 * k));
            const __m256i a_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 64 * k + 32));
            const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, a_lo), _mm256_set1_epi16(sc[2 * k]));
            const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, a_hi), _mm256_set1_epi16(sc[2 * k + 1]));
            isum = _mm256_add_epi32(isum, _mm256_add_epi32(p_lo, p_hi));
        }
        // acc = fma(d, isum, acc); acc = fma(-dmin, msum, acc) (gemm.hpp)
        sum = fma_step(sum, a[i].d * h2f(b[i].d), hsum_i32(isum));
        sum = fma_step(sum, -(a[i].d * h2f(b[i].dmin)), msum);
    }
    return sum;
}

// Q6_K: values are 6-bit (0..63) minus 32 with one int8 scale per 16 values.
float dot_q6_k(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q6_k*>(w);
    const auto* a = static_cast<const block_q8_k*>(x);
    float sum = 0;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
    for (std::size_t i = 0; i < n / qk_k; ++i) {
        prefetch_block(b + i, sizeof(block_q6_k));
        const std::uint8_t* ql = b[i].ql;
        const std::uint8_t* qh = b[i].qh;
        const std::int8_t* sc = b[i].scales;
        const std::int8_t* q8 = a[i].qs;
        __m256i isum = _mm256_setzero_si256();
        for (int chunk = 0; chunk < 2; ++chunk, ql += 64, qh += 32, sc += 8, q8 += 128) {
            const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
            const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
            const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4)),
                _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4)),
            };
            for (int g = 0; g < 4; ++g) {
                const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8 + 32 * g));
                const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[2 * g + 1]), _mm_set1_epi16(sc[2 * g]));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q[g], av), scale));
            }
        }
        int bias = 0;  // the "- 32" of every value, folded through the per-16 sums of a
        for (int s = 0; s < 16; ++s) bias += b[i].scales[s] * a[i].bsums[s];
        sum = fma_step(sum, a[i].d * h2f(b[i].d), hsum_i32(isum) - 32 * bias);  // gemm.hpp
    }
    return sum;
}

}  // namespace

void fp32_to_fp16_row(const float* x, std::uint16_t* y, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void quantize_q8_0_blocks(const float* x, void* y, float* scales, std::size_t n) noexcept {
    auto* b = static_cast<block_q8_0*>(y);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (std::size_t i = 0; i < n / qk; ++i, x += qk) {
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; ++k) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        const float d = _mm_cvtss_f32(m) / 127.0f;
        scales[i] = d;
        // As ggml's x86 quantize_row_q8_0: the multiplier 127 / max (not 1 / d), products rounded
        // half to even.
        const __m256 id = _mm256_set1_ps(d != 0 ? 127.0f / _mm_cvtss_f32(m) : 0.0f);
        __m256i q[4];
        for (int k = 0; k < 4; ++k) {
            const __m256 s = _mm256_mul_ps(v[k], id);
            q[k] = _mm256_cvtps_epi32(_mm256_round_ps(s, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        }
        // int32 -> int8 with the lane order restored (packs work within 128-bit halves).
        const __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
        const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(b[i].qs), p8);
    }
}

gemm_kernel gemm_for(ggml_type type) noexcept { return gemm_kernel_for<avx2_gemm_dot>(type); }

dot_fn dot_for(ggml_type type) noexcept {
    switch (type) {
        case ggml_type::f32: return dot_f32;
        case ggml_type::f16: return dot_f16;
        case ggml_type::bf16: return dot_bf16;
        case ggml_type::q4_0: return dot_q4_0;
        case ggml_type::q8_0: return dot_q8_0;
        case ggml_type::q4_k: return dot_q4_k;
        case ggml_type::q6_k: return dot_q6_k;
        default: return nullptr;
    }
}

}  // namespace sluice::kernels::avx2
