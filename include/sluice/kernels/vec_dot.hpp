// Dot products of one weight row with one activation row:
//   dot(n, w_row, act) = sum_i w[i] * x[i]
// where w_row points at n values of the weight type (raw GGUF blocks) and act at the
// activation row quantised with activation_format(type) (float for F32/F16/BF16).
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/kernels/ggml_type.hpp"

namespace sluice::kernels {

using dot_fn = float (*)(std::size_t n, const void* w_row, const void* act);

// Plain scalar implementation (dequantise, multiply, add): the test oracle.
dot_fn reference_dot(ggml_type type);
// The integer GEMM's types (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K..Q6_K IQ4_NL IQ4_XS; else
// nullptr): the scalar integer dot, per block the exact integer sums and one or two fmas
// in block order (src/kernels/gemm.hpp). Every product of these types (best_dot, matvec,
// matmul, matmul_rows, on any instruction set) computes exactly this, bit for bit.
dot_fn integer_dot(ggml_type type);
// The fastest implementation for this CPU (AVX2/FMA when present, else the reference).
dot_fn best_dot(ggml_type type);

struct cpu_features {
    bool avx2 = false, fma = false, f16c = false;
    bool avx_vnni = false;  // VEX-encoded vpdpbusd (Alder Lake, Sapphire Rapids and later)
};
const cpu_features& cpu() noexcept;
// Whether the AVX2/FMA/F16C kernels are in use (the CPU has them and they are not forced off).
bool avx2_enabled() noexcept;
// Disable the AVX2 kernels (tests compare both paths; SLUICE_NO_AVX2=1 does the same).
void force_scalar(bool on) noexcept;
// Keep the GEMM kernels on AVX2 even where AVX-VNNI exists (tests compare both;
// SLUICE_NO_AVX_VNNI=1 does the same).
void force_no_vnni(bool on) noexcept;

}  // namespace sluice::kernels
