// Scalar reference dequantisation of every weight type sluice computes with.
// These are the oracle the optimised kernels are tested against.
#pragma once

#include <cstddef>

#include "sluice/kernels/ggml_type.hpp"

namespace sluice::kernels {

// The weight types sluice can compute with (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K..Q6_K
// IQ4_NL IQ4_XS).
bool is_computable(ggml_type type) noexcept;

// dst[0..n) = the values of the first n elements at src. n is a multiple of the block size.
void dequantize_row(ggml_type type, const void* src, float* dst, std::size_t n);

}  // namespace sluice::kernels
