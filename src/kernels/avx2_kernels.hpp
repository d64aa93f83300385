// AVX2/FMA/F16C dot products (kernels-internal). Compiled with -mavx2 -mfma -mf16c in
// their own translation unit and only called after cpu() reports those features.
#pragma once

#include <cstdint>

#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels::avx2 {

// The AVX2 dot product for a weight type, or nullptr when there is none.
dot_fn dot_for(ggml_type type) noexcept;
// y[i] += a * x[i] with x in half precision.
void f16_axpy(std::size_t n, float a, const std::uint16_t* x, float* y) noexcept;

}  // namespace sluice::kernels::avx2
