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

void f16_row_dots(std::size_t n_rows, std::size_t dim, const std::uint16_t* base, std::size_t stride,
                  const float* q, float scale, float* scores) noexcept {
    static const dot_fn dot = best_dot(ggml_type::f16);
    for (std::size_t j = 0; j < n_rows; ++j) scores[j] = dot(dim, base + j * stride, q) * scale;
}

void f16_weighted_rows(std::size_t n_rows, std::size_t dim, const std::uint16_t* base, std::size_t stride,
                       const float* w, float* out) noexcept {
    static const bool fast = cpu().avx2 && cpu().fma && cpu().f16c;
    if (fast) {
        avx2::f16_weighted_rows(n_rows, dim, base, stride, w, out);
        return;
    }
    for (std::size_t j = 0; j < n_rows; ++j) {
        const std::uint16_t* r = base + j * stride;
        for (std::size_t i = 0; i < dim; ++i) out[i] += w[j] * fp16_to_fp32(r[i]);
    }
}

}  // namespace sluice::kernels
