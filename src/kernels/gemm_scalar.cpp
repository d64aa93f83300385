// The scalar GEMM kernels: gemm.hpp's numerics read from the packed layout, one output at
// a time. The reference of the SIMD tiles (bit-identical to them) and the kernels of CPUs
// without AVX2.
#include <cmath>
#include <type_traits>

#include "gemm.hpp"
#include "sluice/kernels/fp16.hpp"

namespace sluice::kernels {
namespace {

// The scalar GEMM kernel: gemm.hpp's numerics read from the packed layout.
template <bool Q4>
void scalar_gemm_group(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const std::int8_t* aq = static_cast<const block_q8_0*>(a.q)[(t0 + t) * nb + i].qs;
                std::uint16_t dw;
                std::int32_t isum = 0;
                if constexpr (Q4) {
                    const auto& b = static_cast<const packed_q4_0*>(group)[i];
                    dw = b.d[r];
                    for (int g = 0; g < 4; ++g) {
                        for (int j = 0; j < 4; ++j) {
                            const int q = b.qs[32 * g + 4 * r + j];
                            isum += ((q & 0x0F) - 8) * aq[4 * g + j] + ((q >> 4) - 8) * aq[16 + 4 * g + j];
                        }
                    }
                } else {
                    const auto& b = static_cast<const packed_q8_0*>(group)[i];
                    dw = b.d[r];
                    for (int g = 0; g < 8; ++g) {
                        for (int j = 0; j < 4; ++j) isum += b.qs[32 * g + 4 * r + j] * aq[4 * g + j];
                    }
                }
                acc = std::fma(fp16_to_fp32(dw) * a.d[(t0 + t) * nb + i], static_cast<float>(isum), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

void scalar_gemm_q4_k(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed_q4_k*>(group)[i];
                const auto& q8 = static_cast<const block_q8_k*>(a.q)[(t0 + t) * nb + i];
                std::int32_t isum = 0, msum = 0;
                for (int j = 0; j < 8; ++j) {
                    std::int32_t dot = 0;
                    for (int g = 0; g < 8; ++g) {
                        for (int l = 0; l < 4; ++l) {
                            const int q = b.qs[256 * (j / 2) + 32 * g + 4 * r + l];
                            dot += ((j % 2 != 0) ? q >> 4 : q & 0x0F) * q8.qs[32 * j + 4 * g + l];
                        }
                    }
                    isum += b.sc[j][r] * dot;
                    msum += b.mn[j / 2][2 * r + j % 2] * (q8.bsums[2 * j] + q8.bsums[2 * j + 1]);
                }
                const float da = a.d[(t0 + t) * nb + i];
                acc = std::fma(fp16_to_fp32(b.d[r]) * da, static_cast<float>(isum), acc);
                acc = std::fma(-(fp16_to_fp32(b.dmin[r]) * da), static_cast<float>(msum), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

void scalar_gemm_q6_k(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed_q6_k*>(group)[i];
                const auto& q8 = static_cast<const block_q8_k*>(a.q)[(t0 + t) * nb + i];
                std::int32_t isum = 0, bias = 0;
                for (int c = 0; c < 2; ++c) {
                    for (int g4 = 0; g4 < 4; ++g4) {
                        for (int hs = 0; hs < 2; ++hs) {
                            std::int32_t dot = 0;
                            for (int g = 4 * hs; g < 4 * hs + 4; ++g) {
                                for (int l = 0; l < 4; ++l) {
                                    const int lo = b.ql[c][g4 & 1][g][4 * r + l], hi = b.qh[c][g][4 * r + l];
                                    const int q = ((g4 >> 1) != 0 ? lo >> 4 : lo & 0x0F) | (((hi >> (2 * g4)) & 3) << 4);
                                    dot += q * q8.qs[128 * c + 32 * g4 + 4 * g + l];
                                }
                            }
                            isum += b.scp[4 * c + g4][2 * r + hs] * dot;
                        }
                    }
                }
                for (int s = 0; s < 16; ++s) bias += b.scp[s / 2][2 * r + s % 2] * q8.bsums[s];
                acc = std::fma(fp16_to_fp32(b.d[r]) * a.d[(t0 + t) * nb + i], static_cast<float>(isum - 32 * bias), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

void scalar_gemm_q5_0(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed_q5_0*>(group)[i];
                const std::int8_t* aq = static_cast<const block_q8_0*>(a.q)[(t0 + t) * nb + i].qs;
                std::int32_t isum = 0;
                for (int g = 0; g < 4; ++g) {
                    for (int j = 0; j < 4; ++j) {
                        const int q = b.qs[32 * g + 4 * r + j], h = b.hb[4 * r + j];
                        isum += ((q & 0x0F) | (((h >> g) & 1) << 4)) * aq[4 * g + j] - 16 * aq[4 * g + j];
                        isum += ((q >> 4) | (((h >> (4 + g)) & 1) << 4)) * aq[16 + 4 * g + j] - 16 * aq[16 + 4 * g + j];
                    }
                }
                acc = std::fma(fp16_to_fp32(b.d[r]) * a.d[(t0 + t) * nb + i], static_cast<float>(isum), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

// Q4_1 / Q5_1: unsigned values, the minimum through the activations' s.
template <bool Q5>
void scalar_gemm_q_1(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    using packed = std::conditional_t<Q5, packed_q5_1, packed_q4_1>;
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed*>(group)[i];
                const auto& q8 = static_cast<const block_q8_1*>(a.q)[(t0 + t) * nb + i];
                std::int32_t isum = 0;
                for (int g = 0; g < 4; ++g) {
                    for (int j = 0; j < 4; ++j) {
                        const int q = b.qs[32 * g + 4 * r + j];
                        int h = 0;
                        if constexpr (Q5) h = b.hb[4 * r + j];
                        isum += ((q & 0x0F) | (((h >> g) & 1) << 4)) * q8.qs[4 * g + j];
                        isum += ((q >> 4) | (((h >> (4 + g)) & 1) << 4)) * q8.qs[16 + 4 * g + j];
                    }
                }
                acc = std::fma(fp16_to_fp32(b.d[r]) * q8.d, static_cast<float>(isum), acc);
                acc = std::fma(fp16_to_fp32(b.m[r]), q8.s, acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

void scalar_gemm_q5_k(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed_q5_k*>(group)[i];
                const auto& q8 = static_cast<const block_q8_k*>(a.q)[(t0 + t) * nb + i];
                std::int32_t isum = 0, msum = 0;
                for (int j = 0; j < 8; ++j) {
                    std::int32_t dot = 0;
                    for (int g = 0; g < 8; ++g) {
                        for (int l = 0; l < 4; ++l) {
                            const int q = b.qs[256 * (j / 2) + 32 * g + 4 * r + l], h = b.qh[32 * g + 4 * r + l];
                            dot += (((j % 2 != 0) ? q >> 4 : q & 0x0F) | (((h >> j) & 1) << 4)) * q8.qs[32 * j + 4 * g + l];
                        }
                    }
                    isum += b.sc[j][r] * dot;
                    msum += b.mn[j / 2][2 * r + j % 2] * (q8.bsums[2 * j] + q8.bsums[2 * j + 1]);
                }
                const float da = a.d[(t0 + t) * nb + i];
                acc = std::fma(fp16_to_fp32(b.d[r]) * da, static_cast<float>(isum), acc);
                acc = std::fma(-(fp16_to_fp32(b.dmin[r]) * da), static_cast<float>(msum), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

// Q3_K / Q2_K: 2-bit values (Q3_K: plus the hmask bit), scale per 16.
template <bool Q3>
void scalar_gemm_q23_k(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    using packed = std::conditional_t<Q3, packed_q3_k, packed_q2_k>;
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed*>(group)[i];
                const auto& q8 = static_cast<const block_q8_k*>(a.q)[(t0 + t) * nb + i];
                auto scale = [&](int s) { return Q3 ? static_cast<int>(b.scp[s / 2][2 * r + s % 2]) : b.scp[s / 2][2 * r + s % 2] & 0x0F; };
                std::int32_t isum = 0, bias = 0;
                for (int c = 0; c < 2; ++c) {
                    for (int k = 0; k < 4; ++k) {
                        for (int hs = 0; hs < 2; ++hs) {
                            std::int32_t dot = 0;
                            for (int g = 4 * hs; g < 4 * hs + 4; ++g) {
                                for (int l = 0; l < 4; ++l) {
                                    int q = (b.qs[c][g][4 * r + l] >> (2 * k)) & 3;
                                    if constexpr (Q3) q |= ((b.hm[g][4 * r + l] >> (4 * c + k)) & 1) << 2;
                                    dot += q * q8.qs[128 * c + 32 * k + 4 * g + l];
                                }
                            }
                            isum += scale(8 * c + 2 * k + hs) * dot;
                        }
                    }
                }
                const float da = a.d[(t0 + t) * nb + i];
                if constexpr (Q3) {
                    for (int s = 0; s < 16; ++s) bias += scale(s) * q8.bsums[s];
                    acc = std::fma(fp16_to_fp32(b.d[r]) * da, static_cast<float>(isum - 4 * bias), acc);
                } else {
                    for (int s = 0; s < 16; ++s) bias += (b.scp[s / 2][2 * r + s % 2] >> 4) * q8.bsums[s];  // the mins
                    acc = std::fma(fp16_to_fp32(b.d[r]) * da, static_cast<float>(isum), acc);
                    acc = std::fma(-(fp16_to_fp32(b.dmin[r]) * da), static_cast<float>(bias), acc);
                }
            }
            y[t * ldy + r] = acc;
        }
    }
}

// The codebook dot of one Q4_0-laid-out block of row r (IQ4_NL, and each IQ4_XS sub-block).
inline std::int32_t iq4_block_dot(const std::uint8_t* qs, std::size_t r, const std::int8_t* aq) {
    std::int32_t dot = 0;
    for (int g = 0; g < 4; ++g) {
        for (int j = 0; j < 4; ++j) {
            const int q = qs[32 * g + 4 * r + j];
            dot += k_iq4_values[q & 0x0F] * aq[4 * g + j] + k_iq4_values[q >> 4] * aq[16 + 4 * g + j];
        }
    }
    return dot;
}

void scalar_gemm_iq4_nl(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed_q4_0*>(group)[i];
                const std::int32_t isum = iq4_block_dot(b.qs, r, static_cast<const block_q8_0*>(a.q)[(t0 + t) * nb + i].qs);
                acc = std::fma(fp16_to_fp32(b.d[r]) * a.d[(t0 + t) * nb + i], static_cast<float>(isum), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

void scalar_gemm_iq4_xs(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed_iq4_xs*>(group)[i];
                const auto& q8 = static_cast<const block_q8_k*>(a.q)[(t0 + t) * nb + i];
                std::int32_t isum = 0;
                for (int j = 0; j < 8; ++j) isum += b.sc[j][r] * iq4_block_dot(b.qs + 128 * j, r, q8.qs + 32 * j);
                acc = std::fma(fp16_to_fp32(b.d[r]) * a.d[(t0 + t) * nb + i], static_cast<float>(isum), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

}  // namespace

gemm_kernel scalar_gemm_for(ggml_type type) noexcept {
    switch (type) {
        case ggml_type::q4_0: return {scalar_gemm_group<true>, 0};
        case ggml_type::q4_1: return {scalar_gemm_q_1<false>, 0};
        case ggml_type::q5_0: return {scalar_gemm_q5_0, 0};
        case ggml_type::q5_1: return {scalar_gemm_q_1<true>, 0};
        case ggml_type::q8_0: return {scalar_gemm_group<false>, 0};
        case ggml_type::q2_k: return {scalar_gemm_q23_k<false>, 0};
        case ggml_type::q3_k: return {scalar_gemm_q23_k<true>, 0};
        case ggml_type::q4_k: return {scalar_gemm_q4_k, 0};
        case ggml_type::q5_k: return {scalar_gemm_q5_k, 0};
        case ggml_type::q6_k: return {scalar_gemm_q6_k, 0};
        case ggml_type::iq4_nl: return {scalar_gemm_iq4_nl, 0};
        case ggml_type::iq4_xs: return {scalar_gemm_iq4_xs, 0};
        default: return {};
    }
}

}  // namespace sluice::kernels
