// The AVX2/FMA path of softmax.hpp (kernels-internal): bit-identical to the scalar
// reference in softmax.cpp; called only when avx2_enabled().
#pragma once

#include <cstddef>

namespace sluice::kernels::avx2 {

float max_finite(const float* x, std::size_t n) noexcept;
std::size_t argmax(const float* x, std::size_t n) noexcept;
double exp_sum(const float* x, std::size_t n, float shift, float scale, float* weights) noexcept;
std::size_t find_at_least(const float* x, std::size_t n, float threshold) noexcept;
std::size_t weighted_pick(const float* w, std::size_t n, double r) noexcept;

}  // namespace sluice::kernels::avx2
