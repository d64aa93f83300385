// Elementwise activations of the feed-forward blocks, shared by the dense and the
// mixture-of-experts paths so both round alike.
#pragma once

#include <cmath>

namespace sluice::engine {

// silu(x) = x * sigmoid(x)
inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace sluice::engine
