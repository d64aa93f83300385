// The exp of attention's softmax and of SwiGLU, shared by the scalar and AVX2 translation units (internal linkage:
// each keeps the copy compiled with its own flags). Kernels-internal.
//   n = round(x log2 e), r = x - n ln2 (two fmas, Cody-Waite), e^r = 1 + r + r^2 P(r)
//   (Cephes' degree-5 P, Horner with fmas), times 2^n from the exponent bits;
//   x < -87.3 (and -inf) gives 0, x is clamped at 88.3.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace sluice::kernels {
namespace {

constexpr float k_exp_lo = -87.3f, k_exp_hi = 88.3f;
constexpr float k_log2e = 1.44269504088896341f;
constexpr float k_ln2_hi = 0.693359375f, k_ln2_lo = -2.12194440e-4f;
constexpr float k_exp_p[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                              4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

inline float attn_exp_scalar(float x) noexcept {
    if (!(x >= k_exp_lo)) return 0.0f;
    x = std::min(x, k_exp_hi);
    const float n = std::nearbyint(x * k_log2e);
    float r = std::fma(n, -k_ln2_hi, x);
    r = std::fma(n, -k_ln2_lo, r);
    float p = k_exp_p[0];
    for (int i = 1; i < 6; ++i) p = std::fma(p, r, k_exp_p[i]);
    float y = std::fma(p, r * r, r);
    y = y + 1.0f;
    const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
    return y * std::bit_cast<float>(bits);
}

}  // namespace
}  // namespace sluice::kernels
