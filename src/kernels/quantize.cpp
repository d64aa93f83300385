#include "sluice/kernels/quantize.hpp"

#include <cmath>
#include <algorithm>
#include <atomic>
#include <cstring>

#include "avx2_kernels.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/vec_dot.hpp"
#include "sluice/kernels/quant_blocks.hpp"

namespace sluice::kernels {

namespace {
std::atomic<bool> g_exact{false};
}  // namespace

void set_exact_activations(bool on) noexcept { g_exact.store(on); }
bool exact_activations() noexcept { return g_exact.load(); }

act_format activation_format(ggml_type w) noexcept {
    if (g_exact.load(std::memory_order_relaxed)) return act_format::f32;
    switch (w) {
        case ggml_type::q4_0: case ggml_type::q5_0: case ggml_type::q8_0: case ggml_type::iq4_nl: return act_format::q8_0;
        case ggml_type::q4_1: case ggml_type::q5_1: return act_format::q8_1;
        case ggml_type::q2_k: case ggml_type::q3_k: case ggml_type::q4_k: case ggml_type::q5_k:
        case ggml_type::q6_k: case ggml_type::iq4_xs: return act_format::q8_k;
        default: return act_format::f32;
    }
}

std::size_t activation_bytes(act_format fmt, std::size_t n) noexcept {
    switch (fmt) {
        case act_format::f32: return n * sizeof(float);
        case act_format::q8_0: return n / qk * sizeof(block_q8_0);
        case act_format::q8_1: return n / qk * sizeof(block_q8_1);
        case act_format::q8_k: return n / qk_k * sizeof(block_q8_k);
    }
    return 0;
}

namespace {

constexpr std::size_t k_max_blocks = 64;  // Q8_0 blocks the AVX2 quantiser handles per call

// The value of largest magnitude among x[0..n) (the first such, with its sign), and that magnitude.
inline float signed_max(const float* x, int n, float& amax) {
    float max = 0;
    amax = 0;
    for (int j = 0; j < n; ++j) {
        if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

// Round half to even, as ggml does for activations (its x86 quantisers round with
// _MM_ROUND_NEAREST; its Q8_K quantiser with nearest_int, this same magic-number sum), for
// |v| < 2^22.
inline int round_even(float v) {
    const float t = v + 12582912.0f;  // 1.5 * 2^23: the sum's last mantissa bit is the integer's
    std::int32_t i;
    std::memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

// One block of 32 as ggml's x86 quantize_row_q8_0/q8_1: scale d = max|x| / 127 (stored as half),
// q = round_even(x * (127 / max|x|)). The multiplier is 127 / max|x|, not 1 / d: the two differ
// in the last bit often enough to move a product that lands on a half (63.5 against
// 63.499996), which flips that quantised value.
void q8_block(const float* x, std::int8_t* qs, float& d) {
    float amax = 0;
    for (int j = 0; j < qk; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    d = amax / 127.0f;
    const float id = amax != 0 ? 127.0f / amax : 0.0f;
    for (int j = 0; j < qk; ++j) qs[j] = static_cast<std::int8_t>(round_even(x[j] * id));
}

}  // namespace

void quantize_activation(act_format fmt, const float* x, void* dst, std::size_t n) {
    switch (fmt) {
        case act_format::f32: std::memcpy(dst, x, n * sizeof(float)); return;
        case act_format::q8_0: {
            auto* y = static_cast<block_q8_0*>(dst);
            if (avx2_enabled() && !exact_activations()) {
                float d[k_max_blocks];
                for (std::size_t done = 0; done < n; done += k_max_blocks * qk) {
                    const std::size_t m = std::min(n - done, k_max_blocks * qk);
                    avx2::quantize_q8_0_blocks(x + done, y + done / qk, d, m);
                    for (std::size_t i = 0; i < m / qk; ++i) y[done / qk + i].d = fp32_to_fp16(d[i]);
                }
                return;
            }
            for (std::size_t i = 0; i < n / qk; ++i) {
                float d;
                q8_block(x + i * qk, y[i].qs, d);
                y[i].d = fp32_to_fp16(d);
            }
            return;
        }
        case act_format::q8_1: {
            auto* y = static_cast<block_q8_1*>(dst);
            for (std::size_t i = 0; i < n / qk; ++i) {
                float d;
                q8_block(x + i * qk, y[i].qs, d);
                int sum = 0;
                for (int j = 0; j < qk; ++j) sum += y[i].qs[j];
                y[i].d = d;
                y[i].s = d * static_cast<float>(sum);
            }
            return;
        }
        case act_format::q8_k: {
            auto* y = static_cast<block_q8_k*>(dst);
            for (std::size_t i = 0; i < n / qk_k; ++i, x += qk_k) {
                float amax;
                const float max = signed_max(x, qk_k, amax);
                if (amax == 0) {
                    std::memset(&y[i], 0, sizeof y[i]);
                    continue;
                }
                const float iscale = -127.0f / max;
                for (int j = 0; j < qk_k; ++j) {
                    const int v = round_even(iscale * x[j]);
                    y[i].qs[j] = static_cast<std::int8_t>(v > 127 ? 127 : v);
                }
                for (int j = 0; j < qk_k / 16; ++j) {
                    int sum = 0;
                    for (int l = 0; l < 16; ++l) sum += y[i].qs[j * 16 + l];
                    y[i].bsums[j] = static_cast<std::int16_t>(sum);
                }
                y[i].d = 1.0f / iscale;
            }
            return;
        }
    }
}

void dequantize_activation(act_format fmt, const void* src, float* y, std::size_t n) {
    switch (fmt) {
        case act_format::f32: std::memcpy(y, src, n * sizeof(float)); return;
        case act_format::q8_0: {
            const auto* b = static_cast<const block_q8_0*>(src);
            for (std::size_t i = 0; i < n / qk; ++i) {
                const float d = fp16_to_fp32(b[i].d);
                for (int j = 0; j < qk; ++j) y[i * qk + j] = d * b[i].qs[j];
            }
            return;
        }
        case act_format::q8_1: {
            const auto* b = static_cast<const block_q8_1*>(src);
            for (std::size_t i = 0; i < n / qk; ++i) {
                const float d = b[i].d;
                for (int j = 0; j < qk; ++j) y[i * qk + j] = d * b[i].qs[j];
            }
            return;
        }
        case act_format::q8_k: {
            const auto* b = static_cast<const block_q8_k*>(src);
            for (std::size_t i = 0; i < n / qk_k; ++i) {
                for (int j = 0; j < qk_k; ++j) y[i * qk_k + j] = b[i].d * b[i].qs[j];
            }
            return;
        }
    }
}

void quantize_row_q8_0(const float* x, void* dst, std::size_t n) { quantize_activation(act_format::q8_0, x, dst, n); }

void quantize_row_q4_0(const float* x, void* dst, std::size_t n) {
    auto* y = static_cast<block_q4_0*>(dst);
    for (std::size_t i = 0; i < n / qk; ++i, x += qk) {
        // The value of largest magnitude maps to -8, so the full 4-bit range is used.
        float amax;
        const float max = signed_max(x, qk, amax);
        const float d = max / -8.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < qk / 2; ++j) {
            const int q0 = std::min(15, static_cast<int>(x[j] * id + 8.5f));
            const int q1 = std::min(15, static_cast<int>(x[j + qk / 2] * id + 8.5f));
            y[i].qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
        }
    }
}

}  // namespace sluice::kernels
