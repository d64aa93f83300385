// Constants of sluice's exp (kernels-internal), shared by the scalar reference and the
// AVX2 path of softmax.hpp so that both compute the same operations.
#pragma once

namespace sluice::kernels::softmax_detail {

inline constexpr int lanes = 8;              // sum lanes: element i accumulates into lane i % 8
inline constexpr float log2e = 1.44269504088896341f;
inline constexpr float ln2_hi = 0.693359375f;      // ln 2 = ln2_hi - ln2_lo, ln2_hi exact in 9 bits
inline constexpr float ln2_lo = -2.12194440e-4f;
inline constexpr float lowest = -87.3365447f;      // below this exp(x) < 2^-126: the term is 0
inline constexpr float highest = 88.3762626f;      // above this exp(x) overflows float: clamped
// exp(r) - 1 - r ~= r^2 * p(r) on |r| <= ln2 / 2 (minimax coefficients, lowest degree last).
inline constexpr float p0 = 1.9875691500e-4f, p1 = 1.3981999507e-3f, p2 = 8.3334519073e-3f,
                       p3 = 4.1665795894e-2f, p4 = 1.6666665459e-1f, p5 = 5.0000001201e-1f;

// weighted_pick inside the block of 8 weights at w where r reaches 0 (r_before > 0 before
// the block): the first positive weight where it does, else the last positive one.
inline std::size_t pick_in_block(const float* w, std::size_t n, double r) noexcept {
    std::size_t last = n;
    for (std::size_t j = 0; j < n; ++j) {
        if (w[j] <= 0.0f) continue;
        last = j;
        if ((r -= static_cast<double>(w[j])) <= 0) return j;
    }
    return last;
}

}  // namespace sluice::kernels::softmax_detail
