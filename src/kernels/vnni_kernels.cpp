// The GEMM tile's integer sums with AVX-VNNI (VEX-encoded vpdpbusd on 256-bit registers,
// not AVX-512): one instruction forms each 4-byte lane's sum where AVX2 needs maddubs and
// madd. The integer lanes are the same exact sums, so results are bit-identical to the
// AVX2 kernels. Compiled with -mavxvnni in its own translation unit; called only after
// cpu() reports AVX-VNNI.
#include "vnni_kernels.hpp"

#include "gemm_kernels.hpp"

namespace sluice::kernels::vnni {
namespace {

struct vnni_gemm_dot {
    // Q8_0 multiplies w + 128 (unsigned, as vpdpbusd needs): sum (w + 128) a - 128 sum a.
    static constexpr int q8_corr_k = -128;
    // Q4_0: unsigned nibbles; the accumulator starts at the block's -8 * sum a. The 16-row
    // pair tile measured 1.3x faster than the 8-row tile (gemm_bench, docs/performance.md).
    static constexpr bool q4_pair = true;
    static __m256i q4_init(std::int32_t corr) { return _mm256_set1_epi32(corr); }
    static __m256i q4_step(__m256i s, __m256i w, __m256i a) { return _mm256_dpbusd_avx_epi32(s, w, a); }
    static __m256i q4_done(__m256i s, std::int32_t) { return s; }
    static __m256i q5_step(__m256i s, __m256i w, __m256i a) { return _mm256_dpbusd_avx_epi32(s, w, a); }
    static __m256i q5_done(__m256i s, std::int32_t) { return s; }
    static __m256i q8_init(std::int32_t corr) { return _mm256_set1_epi32(corr); }
    static __m256i q8_prep(__m256i w) { return _mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80))); }
    // IQ4: the table holds t + 128, so a lookup gives the prepared weight.
    static __m256i q8_prep_table(__m256i t) { return q8_prep(t); }
    static __m256i q8_prep_looked_up(__m256i w) { return w; }
    static __m256i q8_step(__m256i s, __m256i w_plus_128, __m256i, __m256i a) { return _mm256_dpbusd_avx_epi32(s, w_plus_128, a); }
    // Q4_K: a sub-block's dots in int32 lanes, times the rows' scales.
    static constexpr bool k4_int16 = false;
    static __m256i k4_step(__m256i s, __m256i w, __m256i a) { return _mm256_dpbusd_avx_epi32(s, w, a); }
    static __m256i k4_scales(const std::uint8_t* sc) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc))); }
    static __m256i k6_step(__m256i s, __m256i w, __m256i a) { return _mm256_dpbusd_avx_epi32(s, w, a); }
    static __m256i k4_done(__m256i isum, __m256i s, __m256i sc) { return _mm256_add_epi32(isum, _mm256_mullo_epi32(s, sc)); }
    static __m256i k4_lane_scales(__m256i sc32, __m256i) { return sc32; }
};

}  // namespace

gemm_kernel gemm_for(ggml_type type) noexcept { return gemm_kernel_for<vnni_gemm_dot>(type); }

}  // namespace sluice::kernels::vnni
