// The GEMM kernel of each type for one IntDot (the AVX2 or AVX-VNNI integer sums):
// gemm_group runs a type's register tiles over a group's tokens. Kernels-internal; internal
// linkage, included by each instruction set's translation unit.
#pragma once

#include "gemm_tile.hpp"
#include "gemm_tile_iq4.hpp"
#include "gemm_tile_q23_k.hpp"
#include "gemm_tile_q_1.hpp"

namespace sluice::kernels {
namespace {

// gemm_fn (and pair_fn, whose tiles span two adjacent groups): tokens in tiles of 4, then
// one tile of the remaining 1-3.
template <class D, template <std::size_t> class Tile>
void gemm_group(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    std::size_t t = 0;
    for (; t + 4 <= nt; t += 4) Tile<4>::template run<D>(group, a, t0 + t, y + t * ldy, ldy);
    switch (nt - t) {
        case 3: Tile<3>::template run<D>(group, a, t0 + t, y + t * ldy, ldy); break;
        case 2: Tile<2>::template run<D>(group, a, t0 + t, y + t * ldy, ldy); break;
        case 1: Tile<1>::template run<D>(group, a, t0 + t, y + t * ldy, ldy); break;
        default: break;
    }
}

template <class D>
gemm_kernel gemm_kernel_for(ggml_type type) {
    switch (type) {
        // pair_min_tokens from engine_bench (SmolLM2 shape, one thread): with pairs, Q4_0
        // decode (1 token) fell from ~370 to ~300 tok/s while 8 batched rows gained ~10%;
        // Q8_0 lost ~30% at 1 and 8 rows and gained at 32.
        case ggml_type::q4_0: return {gemm_group<D, tile_q4_0>, -8, D::q4_pair ? gemm_group<D, tile_q4_0_pair> : nullptr, 4};
        case ggml_type::q4_1: return {gemm_group<D, tile_q4_1>, 0};
        case ggml_type::q5_0: return {gemm_group<D, tile_q5_0>, -16};
        case ggml_type::q5_1: return {gemm_group<D, tile_q5_1>, 0};
        case ggml_type::q8_0: return {gemm_group<D, tile_q8_0>, D::q8_corr_k, gemm_group<D, tile_q8_0_pair>, 16};
        case ggml_type::q2_k: return {gemm_group<D, tile_q2_k>, 0};
        case ggml_type::q3_k: return {gemm_group<D, tile_q3_k>, 0};
        case ggml_type::q4_k: return {gemm_group<D, tile_q4_k>, 0};
        case ggml_type::q5_k: return {gemm_group<D, tile_q5_k>, 0};
        case ggml_type::q6_k: return {gemm_group<D, tile_q6_k>, 0};
        case ggml_type::iq4_nl: return {gemm_group<D, tile_iq4_nl>, D::q8_corr_k};
        case ggml_type::iq4_xs: return {gemm_group<D, tile_iq4_xs>, 0};
        default: return {};
    }
}

}  // namespace
}  // namespace sluice::kernels
