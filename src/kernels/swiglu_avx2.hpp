// AVX2 swiglu (kernels-internal; sluice/kernels/swiglu.hpp): the first n / 8 * 8 elements,
// returns how many it did.
#pragma once

#include <cstddef>

namespace sluice::kernels::avx2 {

std::size_t swiglu(const float* g, const float* u, float* y, std::size_t n) noexcept;

}  // namespace sluice::kernels::avx2
