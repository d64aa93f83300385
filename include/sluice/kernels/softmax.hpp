// Reductions over one row of logits (a vocabulary's worth), for sampling and
// log-probabilities: the largest value, the first index holding it, and sums of
// exp((x - shift) * scale).
//
// Numerics: exp is sluice's own, the one attention and SwiGLU use (src/kernels/exp_poly.hpp:
// range reduction by ln 2 in two parts, Cephes' polynomial, then 2^n; relative error under
// 2.5e-7 against std::exp), and each
// sum is accumulated in double in 8 lanes (element i goes to lane i % 8) that are added
// in lane order at the end. The AVX2 path and the scalar reference compute exactly those
// operations, so every function here returns bit-identical results on every instruction
// set (tests: kernels_tests, softmax.*).
#pragma once

#include <cstddef>
#include <span>

namespace sluice::kernels {

// The largest finite value of x; -infinity when there is none (NaN and +-inf are skipped).
float max_finite(std::span<const float> x) noexcept;
// The lowest index whose value is the largest (NaN never wins; +inf does); 0 when x is
// empty or all NaN.
std::size_t argmax(std::span<const float> x) noexcept;
// sum over i of exp((x[i] - shift) * scale), and when `weights` is not null also
// weights[i] = that term (as float). Non-finite x[i] and terms below 2^-126 count as 0.
// Meant for x[i] <= shift (scale > 0): each term is then in [0, 1].
double exp_sum(std::span<const float> x, float shift, float scale, float* weights) noexcept;
// sluice's exp on one value, as exp_sum computes each term (x <= ~88).
float exp_approx(float x) noexcept;
// The first index i with x[i] >= threshold (NaN never is), or x.size().
std::size_t find_at_least(std::span<const float> x, float threshold) noexcept;
// The draw's walk over weights w >= 0 for a target r: the first index with w > 0 where the
// running sum reaches r, or w.size() when the sum never does (rounding). The sum goes by
// blocks of 8: a block's sum is ((w0+w4)+(w2+w6)) + ((w1+w5)+(w3+w7)) in double, taken from
// r while r stays above it; inside the block where r would reach 0 the weights are taken
// one by one (the block's last positive weight when rounding leaves r above 0).
std::size_t weighted_pick(std::span<const float> w, double r) noexcept;

}  // namespace sluice::kernels
