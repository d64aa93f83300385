// Shared helpers for K-quant kernels (kernels-internal).
#pragma once

#include <cstdint>

namespace sluice::kernels {

// Scale and minimum j (0..7) of a Q4_K/Q5_K super-block: 6 bits each, packed in 12 bytes.
void k_scale_min(int j, const std::uint8_t* packed, std::uint8_t& scale, std::uint8_t& min) noexcept;

}  // namespace sluice::kernels
