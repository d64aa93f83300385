// RMSNorm as llama.cpp's CPU backend computes it (the sum of squares in double), shared by
// the forward pass and its per-layer blocks so all normalise alike.
#pragma once

#include <cmath>
#include <cstddef>

namespace sluice::engine {

// y = x / sqrt(mean(x^2) + eps) * w, over n values (w == nullptr: no weight). y may be x.
inline void rms_norm(const float* x, const float* w, float* y, std::size_t n, float eps) {
    double ss = 0;
    for (std::size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float scale = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
    if (w == nullptr) {
        for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * scale;
        return;
    }
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

}  // namespace sluice::engine
