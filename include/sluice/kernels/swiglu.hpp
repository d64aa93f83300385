// SwiGLU's elementwise step: y[i] = silu(g[i]) * u[i], silu(x) = x / (1 + e^-x), with e^-x
// from attn_exp's polynomial (kernels/attention.hpp). The AVX2 version runs the scalar
// reference's operations on 8 lanes, so both agree bit for bit, and every element is the
// same function of its inputs whatever the batch (decode, prefill, dense and MoE alike).
#pragma once

#include <cstddef>

namespace sluice::kernels {

void swiglu(const float* g, const float* u, float* y, std::size_t n) noexcept;
void swiglu_reference(const float* g, const float* u, float* y, std::size_t n) noexcept;

}  // namespace sluice::kernels
