// Shared scale decoders for K-quant and IQ4_XS kernels (kernels-internal).
#pragma once

#include <cstdint>

#include "sluice/kernels/quant_blocks.hpp"

namespace sluice::kernels {

// Scale and minimum j (0..7) of a Q4_K/Q5_K super-block: 6 bits each, packed in 12 bytes.
void k_scale_min(int j, const std::uint8_t* packed, std::uint8_t& scale, std::uint8_t& min) noexcept;
// The 16 6-bit scales of a Q3_K super-block, each still + 32 (0..63).
void q3_k_scales(const std::uint8_t* packed, std::int8_t* out);
// Scale of sub-block j (0..7) of an IQ4_XS super-block, -32..31.
inline int iq4_xs_scale(const block_iq4_xs& b, int j) noexcept {
    return (((b.scales_l[j / 2] >> (4 * (j % 2))) & 0x0F) | (((b.scales_h >> (2 * j)) & 3) << 4)) - 32;
}

}  // namespace sluice::kernels
