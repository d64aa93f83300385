// Dot products of one weight row with one activation row:
//   dot(n, w_row, act) = sum_i w[i] * x[i]
// where w_row points at n values of the weight type (raw GGUF blocks) and act at the
// activation row quantised with activation_format(type) (float for F32/F16/BF16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sluice/kernels/ggml_type.hpp"

namespace sluice::kernels {

using dot_fn = float (*)(std::size_t n, const void* w_row, const void* act);

// Up to 8 Q8_0 activation rows prepared once for the multi-row kernels (prepare_act_group).
struct act_group {
    const void* rows[8] = {};
    std::vector<float> scales;       // [n_blocks][8]: scale of block i of row k at [i * 8 + k]
    std::vector<std::int32_t> sums;  // [n_blocks][n_rows][8]: -8 * each run of 4 bytes' sum
};
// rows: n_rows (<= 8) Q8_0 activation rows of n values. `sums` only for Q4_0 weights
// (the only kernels that read them).
void prepare_act_group(act_group& g, const void* const* rows, std::size_t n_rows, std::size_t n, bool sums);

// One weight row against the n_act rows of a group: out[k] = dot(n, w_row, rows[k]),
// bit-for-bit what best_dot(type) returns for each (the weights are decoded once for
// all of them, and each row's integer dot and float operations are the single kernel's).
using dotn_fn = void (*)(std::size_t n, const void* w_row, const act_group& g, float* out);
// nullptr when the type has no such kernel for n_act rows on this CPU (call best_dot per row).
dotn_fn best_dotn(ggml_type type, std::size_t n_act);

// Plain scalar implementation (dequantise, multiply, add): the test oracle.
dot_fn reference_dot(ggml_type type);
// The fastest implementation for this CPU (AVX2/FMA when present, else the reference).
dot_fn best_dot(ggml_type type);

struct cpu_features {
    bool avx2 = false, fma = false, f16c = false;
    bool avx_vnni = false;  // VEX-encoded vpdpbusd (Alder Lake, Sapphire Rapids and later)
};
const cpu_features& cpu() noexcept;
// Whether the AVX2/FMA/F16C kernels are in use (the CPU has them and they are not forced off).
bool avx2_enabled() noexcept;
// Disable the AVX2 kernels (tests compare both paths; SLUICE_NO_AVX2=1 does the same).
void force_scalar(bool on) noexcept;
// Keep the multi-row kernels on AVX2 even where AVX-VNNI exists (tests compare both;
// SLUICE_NO_AVX_VNNI=1 does the same).
void force_no_vnni(bool on) noexcept;

}  // namespace sluice::kernels
