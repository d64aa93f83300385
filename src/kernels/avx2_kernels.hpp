// AVX2/FMA/F16C dot products (kernels-internal). Compiled with -mavx2 -mfma -mf16c in
// their own translation unit and only called after cpu() reports those features.
#pragma once

#include <cstdint>

#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels::avx2 {

// The AVX2 dot product for a weight type, or nullptr when there is none.
dot_fn dot_for(ggml_type type) noexcept;
// The n_act-row form (bit-identical to dot_for's per row), or nullptr when there is none.
dotn_fn dotn_for(ggml_type type, std::size_t n_act) noexcept;
// out[i] = sum_j w[j] * rows_j[i], rows in half precision at base + j * stride.
void f16_weighted_rows(std::size_t n_rows, std::size_t dim, const std::uint16_t* base, std::size_t stride,
                       const float* w, float* out) noexcept;

}  // namespace sluice::kernels::avx2
