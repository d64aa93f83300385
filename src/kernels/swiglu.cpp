#include "sluice/kernels/swiglu.hpp"

#include "exp_poly.hpp"
#include "swiglu_avx2.hpp"
#include "sluice/kernels/vec_dot.hpp"

namespace sluice::kernels {

void swiglu_reference(const float* g, const float* u, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = g[i] / (1.0f + attn_exp_scalar(-g[i])) * u[i];
}

void swiglu(const float* g, const float* u, float* y, std::size_t n) noexcept {
    if (avx2_enabled()) {
        const std::size_t head = avx2::swiglu(g, u, y, n);
        swiglu_reference(g + head, u + head, y + head, n - head);
        return;
    }
    swiglu_reference(g, u, y, n);
}

}  // namespace sluice::kernels
