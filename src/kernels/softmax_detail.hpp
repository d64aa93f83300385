// What the scalar reference and the AVX2 path of softmax.hpp share (kernels-internal), so
// that both compute the same operations; the exp itself is exp_poly.hpp's.
#pragma once

namespace sluice::kernels::softmax_detail {

inline constexpr int lanes = 8;              // sum lanes: element i accumulates into lane i % 8
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
