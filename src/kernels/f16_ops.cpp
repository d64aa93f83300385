#include "sluice/kernels/f16_ops.hpp"

#include "avx2_kernels.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels {

void fp32_to_fp16_row(const float* x, std::uint16_t* y, std::size_t n) noexcept {
    if (avx2_enabled()) {
        avx2::fp32_to_fp16_row(x, y, n);
        return;
    }
    for (std::size_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

}  // namespace sluice::kernels
