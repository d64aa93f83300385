// Dot products of one weight row with one activation row:
//   dot(n, w_row, act) = sum_i w[i] * x[i]
// where w_row points at n values of the weight type (raw GGUF blocks) and act at the
// activation row quantised with activation_format(type) (float for F32/F16/BF16).
#pragma once

#include <cstddef>

#include "sluice/kernels/ggml_type.hpp"

namespace sluice::kernels {

using dot_fn = float (*)(std::size_t n, const void* w_row, const void* act);

// Plain scalar implementation (dequantise, multiply, add): the test oracle.
dot_fn reference_dot(ggml_type type);
// The fastest implementation for this CPU (AVX2/FMA when present, else the reference).
dot_fn best_dot(ggml_type type);

struct cpu_features {
    bool avx2 = false, fma = false, f16c = false;
};
const cpu_features& cpu() noexcept;
// Disable the AVX2 kernels (tests compare both paths; SLUICE_NO_AVX2=1 does the same).
void force_scalar(bool on) noexcept;

}  // namespace sluice::kernels
