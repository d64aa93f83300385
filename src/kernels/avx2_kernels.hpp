// AVX2/FMA/F16C dot products (kernels-internal). Compiled with -mavx2 -mfma -mf16c in
// their own translation unit and only called after cpu() reports those features.
#pragma once

#include <cstdint>

#include "gemm.hpp"
#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels::avx2 {

// y[i] = half(x[i]) with F16C, round to nearest even (as the scalar fp32_to_fp16).
void fp32_to_fp16_row(const float* x, std::uint16_t* y, std::size_t n) noexcept;
// Q8_0 activation quantisation, bit-identical to the scalar one and to ggml's x86 one
// (max |x| / 127 scale, values times 127 / max |x| rounded half to even); y's scales are set
// by the caller from `scales`.
void quantize_q8_0_blocks(const float* x, void* y, float* scales, std::size_t n) noexcept;
// The AVX2 dot product for a weight type, or nullptr when there is none.
dot_fn dot_for(ggml_type type) noexcept;
// The GEMM kernel over packed groups (gemm.hpp) for a quantised type, else {}.
gemm_kernel gemm_for(ggml_type type) noexcept;

}  // namespace sluice::kernels::avx2
