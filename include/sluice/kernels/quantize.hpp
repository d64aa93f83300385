// Quantisation: activations into 8-bit blocks before they meet quantised weights
// (as llama.cpp does: Q8_0-style blocks for the legacy types, Q8_1 for the ones with a
// minimum, 256-wide Q8_K for K-quants), and weights into Q8_0 / Q4_0 for tools and
// benchmarks that write models.
#pragma once

#include <cstddef>

#include "sluice/kernels/ggml_type.hpp"

namespace sluice::kernels {

enum class act_format { f32, q8_0, q8_1, q8_k };

// The activation format the dot product of `weight` rows consumes.
act_format activation_format(ggml_type weight) noexcept;
// Exact mode: activations stay float for every weight type (slower; no 8-bit rounding).
// Used by the oracle tests and `--exact`; process-wide, set before computing.
void set_exact_activations(bool on) noexcept;
bool exact_activations() noexcept;
// Bytes of one quantised activation row of n values (n a multiple of the format's block).
std::size_t activation_bytes(act_format fmt, std::size_t n) noexcept;
void quantize_activation(act_format fmt, const float* x, void* dst, std::size_t n);
void dequantize_activation(act_format fmt, const void* src, float* dst, std::size_t n);

// Weight quantisers (reference rounding): n is a multiple of 32.
void quantize_row_q8_0(const float* x, void* dst, std::size_t n);
void quantize_row_q4_0(const float* x, void* dst, std::size_t n);

}  // namespace sluice::kernels
