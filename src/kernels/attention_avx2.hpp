// AVX2/FMA/F16C attention tile kernels (kernels-internal; see sluice/kernels/attention.hpp).
// Called only when avx2_enabled() and both head sizes are multiples of 8.
#pragma once

#include "sluice/kernels/attention.hpp"

namespace sluice::kernels::avx2 {

void attn_tile_update(const attn_tile& tile, attn_query* qs, std::size_t n_q) noexcept;
void attn_load_tile_f16(const std::uint16_t* const* k_rows, const std::uint16_t* const* v_rows, std::size_t c0,
                        std::size_t c1, std::size_t hd_k, std::size_t hd_v, float* k, float* v) noexcept;

}  // namespace sluice::kernels::avx2
