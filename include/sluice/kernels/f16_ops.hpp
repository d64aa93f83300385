// Half-precision row helpers for the KV cache (stored as IEEE half, like llama.cpp's).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::kernels {

void fp32_to_fp16_row(const float* x, std::uint16_t* y, std::size_t n) noexcept;
// y[i] += a * x[i]
void f16_axpy(std::size_t n, float a, const std::uint16_t* x, float* y) noexcept;
// sum_i x[i] * y[i]
float f16_dot(std::size_t n, const std::uint16_t* x, const float* y) noexcept;

}  // namespace sluice::kernels
