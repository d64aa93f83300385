#include "sluice/kernels/vec_dot.hpp"

#include <cpuid.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "avx2_kernels.hpp"
#include "gemm.hpp"
#include "k_scales.hpp"
#include "vnni_kernels.hpp"
#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/quant_blocks.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/util/error.hpp"

namespace sluice::kernels {
namespace {

std::atomic<bool> g_force_scalar{std::getenv("SLUICE_NO_AVX2") != nullptr};
std::atomic<bool> g_force_no_vnni{std::getenv("SLUICE_NO_AVX_VNNI") != nullptr};

float ref_f32(std::size_t n, const void* w, const void* x) {
    const auto* a = static_cast<const float*>(w);
    const auto* b = static_cast<const float*>(x);
    float s = 0;
    for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

float ref_f16(std::size_t n, const void* w, const void* x) {
    const auto* a = static_cast<const std::uint16_t*>(w);
    const auto* b = static_cast<const float*>(x);
    float s = 0;
    for (std::size_t i = 0; i < n; ++i) s += fp16_to_fp32(a[i]) * b[i];
    return s;
}

float ref_bf16(std::size_t n, const void* w, const void* x) {
    const auto* a = static_cast<const std::uint16_t*>(w);
    const auto* b = static_cast<const float*>(x);
    float s = 0;
    for (std::size_t i = 0; i < n; ++i) s += bf16_to_fp32(a[i]) * b[i];
    return s;
}

// Quantised weights: dequantise one block of weights and activations at a time.
template <ggml_type T>
float ref_quant(std::size_t n, const void* w, const void* x) {
    const act_format fmt = activation_format(T);
    const auto t = traits_of(T);
    const std::size_t bs = t.block_size;
    const std::size_t act_block_bytes = activation_bytes(fmt, bs);
    float wb[qk_k], xb[qk_k];
    float sum = 0;
    for (std::size_t i = 0; i < n / bs; ++i) {
        dequantize_row(T, static_cast<const std::byte*>(w) + i * t.type_size, wb, bs);
        dequantize_activation(fmt, static_cast<const std::byte*>(x) + i * act_block_bytes, xb, bs);
        float s = 0;
        for (std::size_t j = 0; j < bs; ++j) s += wb[j] * xb[j];
        sum += s;
    }
    return sum;
}

// The integer numerics of gemm.hpp on raw blocks.
float int_q4_0(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q4_0*>(w);
    const auto* a = static_cast<const block_q8_0*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk; ++i) {
        std::int32_t isum = 0;
        for (int j = 0; j < qk / 2; ++j) {
            isum += ((b[i].qs[j] & 0x0F) - 8) * a[i].qs[j] + ((b[i].qs[j] >> 4) - 8) * a[i].qs[j + qk / 2];
        }
        acc = std::fma(fp16_to_fp32(b[i].d) * fp16_to_fp32(a[i].d), static_cast<float>(isum), acc);
    }
    return acc;
}

float int_q8_0(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q8_0*>(w);
    const auto* a = static_cast<const block_q8_0*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk; ++i) {
        std::int32_t isum = 0;
        for (int j = 0; j < qk; ++j) isum += b[i].qs[j] * a[i].qs[j];
        acc = std::fma(fp16_to_fp32(b[i].d) * fp16_to_fp32(a[i].d), static_cast<float>(isum), acc);
    }
    return acc;
}

float int_q4_k(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q4_k*>(w);
    const auto* a = static_cast<const block_q8_k*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk_k; ++i) {
        std::int32_t isum = 0, msum = 0;
        for (int j = 0; j < 8; ++j) {
            std::uint8_t sc, mn;
            k_scale_min(j, b[i].scales, sc, mn);
            std::int32_t dot = 0;
            for (int l = 0; l < 32; ++l) {
                const int q = b[i].qs[32 * (j / 2) + l];
                dot += ((j % 2 != 0) ? q >> 4 : q & 0x0F) * a[i].qs[32 * j + l];
            }
            isum += sc * dot;
            msum += mn * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
        }
        acc = std::fma(a[i].d * fp16_to_fp32(b[i].d), static_cast<float>(isum), acc);
        acc = std::fma(-(a[i].d * fp16_to_fp32(b[i].dmin)), static_cast<float>(msum), acc);
    }
    return acc;
}

float int_q6_k(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q6_k*>(w);
    const auto* a = static_cast<const block_q8_k*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk_k; ++i) {
        std::int32_t isum = 0, bias = 0;
        for (int c = 0; c < 2; ++c) {
            const std::uint8_t* ql = b[i].ql + 64 * c;
            const std::uint8_t* qh = b[i].qh + 32 * c;
            for (int g4 = 0; g4 < 4; ++g4) {  // values 32 g4 .. 32 g4 + 31 of this half
                for (int hs = 0; hs < 2; ++hs) {
                    std::int32_t dot = 0;
                    for (int l = 16 * hs; l < 16 * hs + 16; ++l) {
                        const int lo = ql[l + 32 * (g4 & 1)];
                        const int q = ((g4 >> 1) != 0 ? lo >> 4 : lo & 0x0F) | (((qh[l] >> (2 * g4)) & 3) << 4);
                        dot += q * a[i].qs[128 * c + 32 * g4 + l];
                    }
                    isum += b[i].scales[8 * c + 2 * g4 + hs] * dot;
                }
            }
        }
        for (int s = 0; s < 16; ++s) bias += b[i].scales[s] * a[i].bsums[s];
        acc = std::fma(a[i].d * fp16_to_fp32(b[i].d), static_cast<float>(isum - 32 * bias), acc);
    }
    return acc;
}

float int_q5_0(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q5_0*>(w);
    const auto* a = static_cast<const block_q8_0*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk; ++i) {
        std::uint32_t qh;
        std::memcpy(&qh, b[i].qh, 4);
        std::int32_t isum = 0;
        for (int j = 0; j < qk / 2; ++j) {
            const int lo = (b[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4), hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            isum += (lo - 16) * a[i].qs[j] + (hi - 16) * a[i].qs[j + qk / 2];
        }
        acc = std::fma(fp16_to_fp32(b[i].d) * fp16_to_fp32(a[i].d), static_cast<float>(isum), acc);
    }
    return acc;
}

}  // namespace

dot_fn integer_dot(ggml_type type) {
    if (type == ggml_type::q5_0) return int_q5_0;
    if (type == ggml_type::q6_k) return int_q6_k;
    if (type == ggml_type::q4_0) return int_q4_0;
    if (type == ggml_type::q8_0) return int_q8_0;
    if (type == ggml_type::q4_k) return int_q4_k;
    return nullptr;
}

const cpu_features& cpu() noexcept {
    // CPUID, plus XGETBV to check that the OS saves the AVX registers.
    static const cpu_features f = [] {
        cpu_features c;
        unsigned a = 0, b = 0, cx = 0, d = 0;
        if (__get_cpuid(1, &a, &b, &cx, &d) == 0) return c;
        const bool osxsave = (cx >> 27) & 1, avx = (cx >> 28) & 1;
        if (!osxsave || !avx) return c;
        unsigned xcr0_lo = 0, xcr0_hi = 0;
        __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
        if ((xcr0_lo & 0x6) != 0x6) return c;  // XMM and YMM state enabled
        c.fma = (cx >> 12) & 1;
        c.f16c = (cx >> 29) & 1;
        if (__get_cpuid_count(7, 0, &a, &b, &cx, &d) != 0) c.avx2 = (b >> 5) & 1;
        if (__get_cpuid_count(7, 1, &a, &b, &cx, &d) != 0) c.avx_vnni = c.avx2 && ((a >> 4) & 1);
        return c;
    }();
    return f;
}

void force_scalar(bool on) noexcept { g_force_scalar.store(on); }
bool avx2_enabled() noexcept { return !g_force_scalar.load() && cpu().avx2 && cpu().fma && cpu().f16c; }
void force_no_vnni(bool on) noexcept { g_force_no_vnni.store(on); }

dot_fn reference_dot(ggml_type type) {
    switch (type) {
        case ggml_type::f32: return ref_f32;
        case ggml_type::f16: return ref_f16;
        case ggml_type::bf16: return ref_bf16;
        case ggml_type::q4_0: return ref_quant<ggml_type::q4_0>;
        case ggml_type::q4_1: return ref_quant<ggml_type::q4_1>;
        case ggml_type::q5_0: return ref_quant<ggml_type::q5_0>;
        case ggml_type::q5_1: return ref_quant<ggml_type::q5_1>;
        case ggml_type::q8_0: return ref_quant<ggml_type::q8_0>;
        case ggml_type::q2_k: return ref_quant<ggml_type::q2_k>;
        case ggml_type::q3_k: return ref_quant<ggml_type::q3_k>;
        case ggml_type::q4_k: return ref_quant<ggml_type::q4_k>;
        case ggml_type::q5_k: return ref_quant<ggml_type::q5_k>;
        case ggml_type::q6_k: return ref_quant<ggml_type::q6_k>;
        default: break;
    }
    throw error(errc::unsupported, "no dot product for type " + std::string(name_of(type)));
}

gemm_kernel best_gemm(ggml_type type) {
    if (integer_dot(type) == nullptr) return {};
    if (activation_format(type) == act_format::f32) return {};  // exact mode: float activations
    if (!avx2_enabled()) return scalar_gemm_for(type);
    if (cpu().avx_vnni && !g_force_no_vnni.load()) return vnni::gemm_for(type);
    return avx2::gemm_for(type);
}

dot_fn best_dot(ggml_type type) {
    // The integer kernels need 8-bit activations; in exact mode only the float kernels apply.
    if (exact_activations() && type != ggml_type::f32 && type != ggml_type::f16 && type != ggml_type::bf16) {
        return reference_dot(type);
    }
    if (avx2_enabled()) {
        if (const dot_fn f = avx2::dot_for(type)) return f;
    }
    // Q4_0 / Q8_0: the scalar form of the integer numerics every product of these types uses.
    if (const dot_fn f = integer_dot(type)) return f;
    return reference_dot(type);
}

}  // namespace sluice::kernels
