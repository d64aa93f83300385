// Half-precision row helpers for the KV cache (stored as IEEE half, like llama.cpp's).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::kernels {

void fp32_to_fp16_row(const float* x, std::uint16_t* y, std::size_t n) noexcept;

// Attention over half-precision cache rows (row j at base + j * stride elements):
//   scores[j] = scale * sum_i rows_j[i] * q[i]           for j in [0, n_rows)
void f16_row_dots(std::size_t n_rows, std::size_t dim, const std::uint16_t* base, std::size_t stride,
                  const float* q, float scale, float* scores) noexcept;
//   out[i] += sum_j w[j] * rows_j[i]                     (added to out, so runs of rows chain)
void f16_weighted_rows(std::size_t n_rows, std::size_t dim, const std::uint16_t* base, std::size_t stride,
                       const float* w, float* out) noexcept;

}  // namespace sluice::kernels
