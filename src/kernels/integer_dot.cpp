// The scalar integer dot products: the numerics of gemm.hpp on raw GGUF blocks, one
// weight row against one quantised activation row. Every product of these types (the
// GEMM on any instruction set, best_dot) computes exactly these chains, bit for bit.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "k_scales.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/quant_blocks.hpp"
#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels {
namespace {

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

// Q4_1 / Q5_1 with Q8_1 activations: the minimum through the activations' s (gemm.hpp).
template <bool Q5>
float int_q_1(std::size_t n, const void* w, const void* x) {
    using block = std::conditional_t<Q5, block_q5_1, block_q4_1>;
    const auto* b = static_cast<const block*>(w);
    const auto* a = static_cast<const block_q8_1*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk; ++i) {
        std::uint32_t qh = 0;
        if constexpr (Q5) std::memcpy(&qh, b[i].qh, 4);
        std::int32_t isum = 0;
        for (int j = 0; j < qk / 2; ++j) {
            const int lo = (b[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4), hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            isum += lo * a[i].qs[j] + hi * a[i].qs[j + qk / 2];
        }
        acc = std::fma(fp16_to_fp32(b[i].d) * a[i].d, static_cast<float>(isum), acc);
        acc = std::fma(fp16_to_fp32(b[i].m), a[i].s, acc);
    }
    return acc;
}

float int_q5_k(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q5_k*>(w);
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
                dot += (((j % 2 != 0) ? q >> 4 : q & 0x0F) | (((b[i].qh[l] >> j) & 1) << 4)) * a[i].qs[32 * j + l];
            }
            isum += sc * dot;
            msum += mn * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
        }
        acc = std::fma(a[i].d * fp16_to_fp32(b[i].d), static_cast<float>(isum), acc);
        acc = std::fma(-(a[i].d * fp16_to_fp32(b[i].dmin)), static_cast<float>(msum), acc);
    }
    return acc;
}

// Q3_K / Q2_K: value 128 c + 32 k + l (l < 32) is bits 2k, 2k + 1 of qs[32 c + l] (Q3_K:
// plus hmask[l] bit 4 c + k as bit 2), in sub-block 8 c + 2 k + l / 16.
float int_q3_k(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q3_k*>(w);
    const auto* a = static_cast<const block_q8_k*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk_k; ++i) {
        std::int8_t sc[16];
        q3_k_scales(b[i].scales, sc);
        std::int32_t isum = 0, bias = 0;
        for (int c = 0; c < 2; ++c) {
            for (int k = 0; k < 4; ++k) {
                for (int h = 0; h < 2; ++h) {
                    std::int32_t dot = 0;
                    for (int l = 16 * h; l < 16 * h + 16; ++l) {
                        const int q = ((b[i].qs[32 * c + l] >> (2 * k)) & 3) | (((b[i].hmask[l] >> (4 * c + k)) & 1) << 2);
                        dot += q * a[i].qs[128 * c + 32 * k + l];
                    }
                    isum += (sc[8 * c + 2 * k + h] - 32) * dot;
                }
            }
        }
        for (int s = 0; s < 16; ++s) bias += (sc[s] - 32) * a[i].bsums[s];
        acc = std::fma(a[i].d * fp16_to_fp32(b[i].d), static_cast<float>(isum - 4 * bias), acc);
    }
    return acc;
}

float int_q2_k(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_q2_k*>(w);
    const auto* a = static_cast<const block_q8_k*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk_k; ++i) {
        std::int32_t isum = 0, msum = 0;
        for (int c = 0; c < 2; ++c) {
            for (int k = 0; k < 4; ++k) {
                for (int h = 0; h < 2; ++h) {
                    std::int32_t dot = 0;
                    for (int l = 16 * h; l < 16 * h + 16; ++l) dot += ((b[i].qs[32 * c + l] >> (2 * k)) & 3) * a[i].qs[128 * c + 32 * k + l];
                    isum += (b[i].scales[8 * c + 2 * k + h] & 0x0F) * dot;
                }
            }
        }
        for (int s = 0; s < 16; ++s) msum += (b[i].scales[s] >> 4) * a[i].bsums[s];
        acc = std::fma(a[i].d * fp16_to_fp32(b[i].d), static_cast<float>(isum), acc);
        acc = std::fma(-(a[i].d * fp16_to_fp32(b[i].dmin)), static_cast<float>(msum), acc);
    }
    return acc;
}

float int_iq4_nl(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_iq4_nl*>(w);
    const auto* a = static_cast<const block_q8_0*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk; ++i) {
        std::int32_t isum = 0;
        for (int j = 0; j < qk / 2; ++j) {
            isum += k_iq4_values[b[i].qs[j] & 0x0F] * a[i].qs[j] + k_iq4_values[b[i].qs[j] >> 4] * a[i].qs[j + qk / 2];
        }
        acc = std::fma(fp16_to_fp32(b[i].d) * fp16_to_fp32(a[i].d), static_cast<float>(isum), acc);
    }
    return acc;
}

float int_iq4_xs(std::size_t n, const void* w, const void* x) {
    const auto* b = static_cast<const block_iq4_xs*>(w);
    const auto* a = static_cast<const block_q8_k*>(x);
    float acc = 0;
    for (std::size_t i = 0; i < n / qk_k; ++i) {
        std::int32_t isum = 0;
        for (int j = 0; j < 8; ++j) {
            const std::uint8_t* q = b[i].qs + 16 * j;
            const std::int8_t* y = a[i].qs + 32 * j;
            std::int32_t dot = 0;
            for (int l = 0; l < 16; ++l) dot += k_iq4_values[q[l] & 0x0F] * y[l] + k_iq4_values[q[l] >> 4] * y[l + 16];
            isum += iq4_xs_scale(b[i], j) * dot;
        }
        acc = std::fma(a[i].d * fp16_to_fp32(b[i].d), static_cast<float>(isum), acc);
    }
    return acc;
}

}  // namespace

dot_fn integer_dot(ggml_type type) {
    switch (type) {
        case ggml_type::q4_0: return int_q4_0;
        case ggml_type::q4_1: return int_q_1<false>;
        case ggml_type::q5_0: return int_q5_0;
        case ggml_type::q5_1: return int_q_1<true>;
        case ggml_type::q8_0: return int_q8_0;
        case ggml_type::q2_k: return int_q2_k;
        case ggml_type::q3_k: return int_q3_k;
        case ggml_type::q4_k: return int_q4_k;
        case ggml_type::q5_k: return int_q5_k;
        case ggml_type::q6_k: return int_q6_k;
        case ggml_type::iq4_nl: return int_iq4_nl;
        case ggml_type::iq4_xs: return int_iq4_xs;
        default: return nullptr;
    }
}

}  // namespace sluice::kernels
