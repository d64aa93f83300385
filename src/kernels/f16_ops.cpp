#include "sluice/kernels/f16_ops.hpp"

#include "avx2_kernels.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels {

void fp32_to_fp16_row(const float* x, std::uint16_t* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void f16_axpy(std::size_t n, float a, const std::uint16_t* x, float* y) noexcept {
    static const bool fast = cpu().avx2 && cpu().fma && cpu().f16c;
    if (fast) {
        avx2::f16_axpy(n, a, x, y);
        return;
    }
    for (std::size_t i = 0; i < n; ++i) y[i] += a * fp16_to_fp32(x[i]);
}

float f16_dot(std::size_t n, const std::uint16_t* x, const float* y) noexcept {
    static const dot_fn dot = best_dot(ggml_type::f16);
    return dot(n, x, y);
}

}  // namespace sluice::kernels
