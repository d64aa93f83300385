// AVX-VNNI GEMM kernels (kernels-internal); see vnni_kernels.cpp.
#pragma once

#include "gemm.hpp"

namespace sluice::kernels::vnni {

// The GEMM kernel over packed groups (bit-identical to the AVX2 one), or {} when there is none.
gemm_kernel gemm_for(ggml_type type) noexcept;

}  // namespace sluice::kernels::vnni
