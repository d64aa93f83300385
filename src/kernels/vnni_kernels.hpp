// AVX-VNNI multi-row dot products (kernels-internal); see vnni_kernels.cpp.
#pragma once

#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels::vnni {

// The n_act-row kernel (bit-identical to the AVX2 one), or nullptr when there is none.
dotn_fn dotn_for(ggml_type type, std::size_t n_act) noexcept;

}  // namespace sluice::kernels::vnni
