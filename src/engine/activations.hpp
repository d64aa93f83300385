// Elementwise activations of the feed-forward blocks, shared by the dense and the
// mixture-of-experts paths so both round alike.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "sluice/kernels/fp16.hpp"

namespace sluice::engine {

// silu(x) * up: kernels::swiglu (vectorised, batch-invariant).

// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the tanh approximation.
inline float gelu_tanh(float x) {
    constexpr float sqrt_2_over_pi = 0.79788456080286535587989211986876f, coef_a = 0.044715f;
    return 0.5f * x * (1.0f + std::tanh(sqrt_2_over_pi * x * (1.0f + coef_a * x * x)));
}

// GELU as llama.cpp's CPU backend computes it (GGML_GELU_FP16): 0 below -10, x above 10, and
// between, a table lookup -- gelu_tanh of x rounded to half precision, the result rounded to
// half precision too. Matching it keeps Gemma's activations on llama.cpp's grid.
inline float gelu_fp16(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    static const auto table = [] {
        std::array<std::uint16_t, 65536> t{};
        for (std::size_t i = 0; i < t.size(); ++i) {
            t[i] = kernels::fp32_to_fp16(gelu_tanh(kernels::fp16_to_fp32(static_cast<std::uint16_t>(i))));
        }
        return t;
    }();
    return kernels::fp16_to_fp32(table[kernels::fp32_to_fp16(x)]);
}

}  // namespace sluice::engine
