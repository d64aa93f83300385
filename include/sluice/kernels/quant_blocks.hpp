// Block layouts of the quantised ggml types (little-endian, packed, as in GGUF) and
// of the 8-bit activation blocks sluice quantises activations into.
#pragma once

#include <cstdint>

namespace sluice::kernels {

constexpr int qk = 32;    // legacy block size
constexpr int qk_k = 256; // K-quant super-block size

#pragma pack(push, 1)
struct block_q4_0 { std::uint16_t d; std::uint8_t qs[qk / 2]; };
struct block_q4_1 { std::uint16_t d, m; std::uint8_t qs[qk / 2]; };
struct block_q5_0 { std::uint16_t d; std::uint8_t qh[4]; std::uint8_t qs[qk / 2]; };
struct block_q5_1 { std::uint16_t d, m; std::uint8_t qh[4]; std::uint8_t qs[qk / 2]; };
struct block_q8_0 { std::uint16_t d; std::int8_t qs[qk]; };
struct block_q2_k { std::uint8_t scales[qk_k / 16]; std::uint8_t qs[qk_k / 4]; std::uint16_t d, dmin; };
struct block_q3_k { std::uint8_t hmask[qk_k / 8]; std::uint8_t qs[qk_k / 4]; std::uint8_t scales[12]; std::uint16_t d; };
struct block_q4_k { std::uint16_t d, dmin; std::uint8_t scales[12]; std::uint8_t qs[qk_k / 2]; };
struct block_q5_k { std::uint16_t d, dmin; std::uint8_t scales[12]; std::uint8_t qh[qk_k / 8]; std::uint8_t qs[qk_k / 2]; };
struct block_q6_k { std::uint8_t ql[qk_k / 2]; std::uint8_t qh[qk_k / 4]; std::int8_t scales[qk_k / 16]; std::uint16_t d; };
// IQ4: 4-bit indices into the non-linear codebook k_iq4_values; IQ4_XS adds a 6-bit scale
// per 32 values (low 4 bits in scales_l, high 2 in scales_h, stored + 32).
struct block_iq4_nl { std::uint16_t d; std::uint8_t qs[qk / 2]; };
struct block_iq4_xs { std::uint16_t d; std::uint16_t scales_h; std::uint8_t scales_l[qk_k / 64]; std::uint8_t qs[qk_k / 2]; };

// Activation blocks (sluice-internal formats). q8_1 carries s = d * sum(qs) for the types
// with a minimum (Q4_1, Q5_1); d and s are floats so the minimum term is exact.
struct block_q8_1 { float d, s; std::int8_t qs[qk]; };
struct block_q8_k { float d; std::int8_t qs[qk_k]; std::int16_t bsums[qk_k / 16]; };
#pragma pack(pop)

// The IQ4_NL / IQ4_XS codebook (the GGUF format's fixed table).
inline constexpr std::int8_t k_iq4_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static_assert(sizeof(block_q4_0) == 18 && sizeof(block_q4_1) == 20 && sizeof(block_q5_0) == 22);
static_assert(sizeof(block_q5_1) == 24 && sizeof(block_q8_0) == 34 && sizeof(block_q2_k) == 84);
static_assert(sizeof(block_q3_k) == 110 && sizeof(block_q4_k) == 144 && sizeof(block_q5_k) == 176);
static_assert(sizeof(block_iq4_nl) == 18 && sizeof(block_iq4_xs) == 136);
static_assert(sizeof(block_q6_k) == 210 && sizeof(block_q8_1) == 40 && sizeof(block_q8_k) == 292);

}  // namespace sluice::kernels
