#include "sluice/kernels/vec_dot.hpp"

#include <cpuid.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "avx2_kernels.hpp"
#include "gemm.hpp"
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

}  // namespace

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
        case ggml_type::iq4_nl: return ref_quant<ggml_type::iq4_nl>;
        case ggml_type::iq4_xs: return ref_quant<ggml_type::iq4_xs>;
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
    // The GEMM's types: the scalar form of the integer numerics every product of them uses.
    if (const dot_fn f = integer_dot(type)) return f;
    return reference_dot(type);
}

}  // namespace sluice::kernels
