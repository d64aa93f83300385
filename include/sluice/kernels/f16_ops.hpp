// Half-precision row helpers for the KV cache (stored as IEEE half, like llama.cpp's).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::kernels {

void fp32_to_fp16_row(const float* x, std::uint16_t* y, std::size_t n) noexcept;

}  // namespace sluice::kernels
