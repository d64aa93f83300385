// Block layouts follow the ggml/GGUF specification: each block stores one or two
// half-precision scales and packed integers; K-quants group 256 values into 8 or 16
// sub-blocks with 4-8 bit sub-scales.
#include "sluice/kernels/dequantize.hpp"

#include <cstring>

#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/quant_blocks.hpp"
#include "k_scales.hpp"
#include "sluice/util/error.hpp"

namespace sluice::kernels {
namespace {

void deq_q4_0(const block_q4_0* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, y += qk) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < qk / 2; ++j) {
            y[j] = d * ((b[i].qs[j] & 0x0F) - 8);
            y[j + qk / 2] = d * ((b[i].qs[j] >> 4) - 8);
        }
    }
}

void deq_q4_1(const block_q4_1* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, y += qk) {
        const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
        for (int j = 0; j < qk / 2; ++j) {
            y[j] = d * (b[i].qs[j] & 0x0F) + m;
            y[j + qk / 2] = d * (b[i].qs[j] >> 4) + m;
        }
    }
}

void deq_q5_0(const block_q5_0* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, y += qk) {
        const float d = fp16_to_fp32(b[i].d);
        std::uint32_t qh;
        std::memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < qk / 2; ++j) {
            const int h0 = ((qh >> j) << 4) & 0x10;
            const int h1 = (qh >> (j + 12)) & 0x10;
            y[j] = d * (((b[i].qs[j] & 0x0F) | h0) - 16);
            y[j + qk / 2] = d * (((b[i].qs[j] >> 4) | h1) - 16);
        }
    }
}

void deq_q5_1(const block_q5_1* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, y += qk) {
        const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
        std::uint32_t qh;
        std::memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < qk / 2; ++j) {
            const int h0 = ((qh >> j) << 4) & 0x10;
            const int h1 = (qh >> (j + 12)) & 0x10;
            y[j] = d * ((b[i].qs[j] & 0x0F) | h0) + m;
            y[j + qk / 2] = d * ((b[i].qs[j] >> 4) | h1) + m;
        }
    }
}

void deq_q8_0(const block_q8_0* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, y += qk) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < qk; ++j) y[j] = d * b[i].qs[j];
    }
}

void deq_q2_k(const block_q2_k* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        const std::uint8_t* q = b[i].qs;
        int is = 0;
        for (int n = 0; n < qk_k; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half) {
                    const std::uint8_t sc = b[i].scales[is++];
                    const float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
                    for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
                }
            }
        }
    }
}

}  // namespace

// Unpacks the twelve 6-bit scale bytes of Q3_K into 16 scales (stored + 32).
void q3_k_scales(const std::uint8_t* packed, std::int8_t* out) {
    std::uint32_t aux[4];
    std::memcpy(aux, packed, 12);
    constexpr std::uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    const std::uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    std::memcpy(out, aux, 16);
}

namespace {

void deq_q3_k(const block_q3_k* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        std::int8_t scales[16];
        q3_k_scales(b[i].scales, scales);
        const std::uint8_t* q = b[i].qs;
        const std::uint8_t* hm = b[i].hmask;
        std::uint8_t m = 1;
        int is = 0;
        for (int n = 0; n < qk_k; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m = static_cast<std::uint8_t>(m << 1)) {
                for (int half = 0; half < 2; ++half) {
                    const float dl = d * (scales[is++] - 32);
                    for (int l = 0; l < 16; ++l) {
                        const int k = l + 16 * half;
                        *y++ = dl * (((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4));
                    }
                }
            }
        }
    }
}

}  // namespace

// Scale and minimum j (0..7) of a Q4_K/Q5_K super-block (6 bits each, packed in 12 bytes).
void k_scale_min(int j, const std::uint8_t* q, std::uint8_t& d, std::uint8_t& m) noexcept {
    if (j < 4) {
        d = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        d = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

namespace {

void deq_q4_k(const block_q4_k* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        const std::uint8_t* q = b[i].qs;
        for (int j = 0, is = 0; j < qk_k; j += 64, q += 32, is += 2) {
            std::uint8_t sc, m;
            k_scale_min(is, b[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            k_scale_min(is + 1, b[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void deq_q5_k(const block_q5_k* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        const std::uint8_t* ql = b[i].qs;
        const std::uint8_t* qh = b[i].qh;
        std::uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < qk_k; j += 64, ql += 32, is += 2) {
            std::uint8_t sc, m;
            k_scale_min(is, b[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            k_scale_min(is + 1, b[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
            u1 = static_cast<std::uint8_t>(u1 << 2);
            u2 = static_cast<std::uint8_t>(u2 << 2);
        }
    }
}

void deq_q6_k(const block_q6_k* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        const std::uint8_t* ql = b[i].ql;
        const std::uint8_t* qh = b[i].qh;
        const std::int8_t* sc = b[i].scales;
        for (int n = 0; n < qk_k; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void deq_iq4_nl(const block_iq4_nl* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, y += qk) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < qk / 2; ++j) {
            y[j] = d * k_iq4_values[b[i].qs[j] & 0x0F];
            y[j + qk / 2] = d * k_iq4_values[b[i].qs[j] >> 4];
        }
    }
}

void deq_iq4_xs(const block_iq4_xs* b, float* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 8; ++j, y += 32) {
            const float dl = d * static_cast<float>(iq4_xs_scale(b[i], j));
            const std::uint8_t* q = b[i].qs + 16 * j;
            for (int l = 0; l < 16; ++l) {
                y[l] = dl * k_iq4_values[q[l] & 0x0F];
                y[l + 16] = dl * k_iq4_values[q[l] >> 4];
            }
        }
    }
}

}  // namespace

bool is_computable(ggml_type t) noexcept {
    switch (t) {
        case ggml_type::f32: case ggml_type::f16: case ggml_type::bf16: case ggml_type::q8_0:
        case ggml_type::q4_0: case ggml_type::q4_1: case ggml_type::q5_0: case ggml_type::q5_1:
        case ggml_type::q2_k: case ggml_type::q3_k: case ggml_type::q4_k: case ggml_type::q5_k:
        case ggml_type::q6_k: case ggml_type::iq4_nl: case ggml_type::iq4_xs: return true;
        default: return false;
    }
}

void dequantize_row(ggml_type type, const void* src, float* y, std::size_t n) {
    const auto bs = traits_of(type).block_size;
    const std::size_t nb = n / bs;
    switch (type) {
        case ggml_type::f32: std::memcpy(y, src, n * 4); return;
        case ggml_type::f16: {
            const auto* h = static_cast<const std::uint16_t*>(src);
            for (std::size_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(h[i]);
            return;
        }
        case ggml_type::bf16: {
            const auto* h = static_cast<const std::uint16_t*>(src);
            for (std::size_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(h[i]);
            return;
        }
        case ggml_type::q4_0: return deq_q4_0(static_cast<const block_q4_0*>(src), y, nb);
        case ggml_type::q4_1: return deq_q4_1(static_cast<const block_q4_1*>(src), y, nb);
        case ggml_type::q5_0: return deq_q5_0(static_cast<const block_q5_0*>(src), y, nb);
        case ggml_type::q5_1: return deq_q5_1(static_cast<const block_q5_1*>(src), y, nb);
        case ggml_type::q8_0: return deq_q8_0(static_cast<const block_q8_0*>(src), y, nb);
        case ggml_type::q2_k: return deq_q2_k(static_cast<const block_q2_k*>(src), y, nb);
        case ggml_type::q3_k: return deq_q3_k(static_cast<const block_q3_k*>(src), y, nb);
        case ggml_type::q4_k: return deq_q4_k(static_cast<const block_q4_k*>(src), y, nb);
        case ggml_type::q5_k: return deq_q5_k(static_cast<const block_q5_k*>(src), y, nb);
        case ggml_type::q6_k: return deq_q6_k(static_cast<const block_q6_k*>(src), y, nb);
        case ggml_type::iq4_nl: return deq_iq4_nl(static_cast<const block_iq4_nl*>(src), y, nb);
        case ggml_type::iq4_xs: return deq_iq4_xs(static_cast<const block_iq4_xs*>(src), y, nb);
        default: break;
    }
    throw error(errc::unsupported, "cannot dequantize type " + std::string(name_of(type)));
}

}  // namespace sluice::kernels
