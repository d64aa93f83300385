// The multi-row integer dots with AVX-VNNI (VEX-encoded vpdpbusd on 256-bit registers,
// not AVX-512): one instruction forms each 4-byte lane's sum where AVX2 needs maddubs and
// madd. The integer lanes are the same exact sums, so results are bit-identical to the
// AVX2 kernels. Compiled with -mavxvnni in its own translation unit; called only after
// cpu() reports AVX-VNNI.
#include "vnni_kernels.hpp"

#include "simd_helpers.hpp"

namespace sluice::kernels::vnni {
namespace {

struct vnni_int_dot {
    // sum_i (q_i - 8) a_i per lane: the accumulator starts at -8 * (sum of the lane's a).
    static __m256i q4(__m256i q_unsigned, __m256i a, __m256i minus_eight_sums) {
        return _mm256_dpbusd_avx_epi32(minus_eight_sums, q_unsigned, a);
    }
    static __m256i q8(__m256i q_abs, __m256i q, __m256i a) {
        return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), q_abs, _mm256_sign_epi8(a, q));
    }
};

}  // namespace

dotn_fn dotn_for(ggml_type type, std::size_t n_act) noexcept { return multi_row_dot<vnni_int_dot>(type, n_act); }

}  // namespace sluice::kernels::vnni
