// The integer GEMM of quantised weights with 8-bit activations (kernels-internal).
//
// Numerics, shared by every product of a type (matvec, matmul, matmul_rows, best_dot, and
// the scalar integer_dot in integer_dot.cpp); Q4_0 / Q5_0 / Q8_0, for output (row r, token t):
//
//   acc = 0;  for each block i in order:  acc = fma(dw_i * da_i, float(isum_i), acc)
//
// where isum_i is the exact integer dot of the block's 32 weights and 32 activation
// bytes (|isum| < 2^24, so float(isum) is exact, and dw * da of two halves is exact in
// float). Every implementation forms the same isum and performs the same fma chain, so
// a row's result never depends on the batch it is computed in or on the instruction set.
// (The other types below: the same shape, their integer sums converted with one rounding
// where they can exceed 2^24, which every implementation performs identically.)
//
// Packed layout (pack_groups): rows in groups of 8 (the last group padded with zero
// rows); a group is nb packed blocks, block i of the group holding block i of its 8 rows:
// the 8 scales, then 4-byte runs interleaved so that one 32-byte load gives 4 bytes of
// each row (lane r = row r):  qs[32 g + 4 r + j] = row r's qs[4 g + j].
// Q4_0: g < 4, so a load's low nibbles are elements 4g..4g+3 of each row and its high
// nibbles elements 16+4g..16+4g+3. Q8_0: g < 8, elements 4g..4g+3.
// Q5_0: as Q4_0 (values (nibble | bit << 4) - 16, corr_k = -16), the fifth bits moved
// next to their runs: bit g of hb[4 r + j] is row r's bit of element 4g + j, bit 4 + g
// that of element 16 + 4g + j.
//
// Q4_K (Q8_K activations, 256-value super-blocks): per super-block i,
//   isum = sum_j sc_j * (q . a)_j over the 8 sub-blocks of 32,  msum = sum_j m_j * (sum of a over j)
//   acc = fma(da * d, float(isum), acc);  acc = fma(-(da * dmin), float(msum), acc)
// Packed: the 8 rows' d and dmin, the 6-bit scales and mins decoded to bytes
// (sc[j][r]; mn[k][2r + h] = row r's min of sub-block 2k + h), and qs[256 k + 32 g + 4 r + j]
// = row r's qs[32 k + 4 g + j] (low nibbles: sub-block 2k, high: 2k + 1).
//
// Q6_K (Q8_K activations): per super-block, with q in 0..63 and 16 sub-blocks of 16,
//   isum = sum_s sc_s * (q . a)_s,  bias = sum_s sc_s * bsums_s
//   acc = fma(da * d, float(isum - 32 * bias), acc)
// Packed (same size as 8 raw blocks): d[r]; scp[m][2r + h] = row r's scale 2m + h; for
// each 128-value half c, ql[c][h][g][4r + j] = row r's ql[64c + 32h + 4g + j] and
// qh[c][g][4r + j] = row r's qh[32c + 4g + j] (the 4-byte runs of gemm.hpp's layout).
//
// Q4_1 / Q5_1 (Q8_1 activations: float d and s = d * sum of the block's bytes), q unsigned
// (0..15, or 0..31 with the fifth bit), following llama.cpp's arithmetic for the minimum:
//   acc = fma(dw * da, float(sum q a), acc);  acc = fma(m, s, acc)
// Packed as Q4_0 / Q5_0 with the 8 rows' m after their d.
//
// Q5_K: Q4_K's numerics with q in 0..31; packed as Q4_K plus qh[32 g + 4 r + j] = row r's
// qh[4 g + j] (bit j of qh is the fifth bit of sub-block j).
//
// Q3_K (16 sub-blocks of 16, q = low 2 bits | hmask bit << 2 in 0..7, value q - 4, signed
// 6-bit scales sc - 32):  isum = sum_s sc_s * (q . a)_s,  bias = sum_s sc_s * bsums_s
//   acc = fma(da * d, float(isum - 4 * bias), acc)
// Q2_K (q in 0..3, 4-bit scale and min per 16):  isum as Q3_K, msum = sum_s m_s * bsums_s
//   acc = fma(da * d, float(isum), acc);  acc = fma(-(da * dmin), float(msum), acc)
// Both packed: qs[c][g][4 r + j] = row r's qs[32 c + 4 g + j] (value 128 c + 32 k + 4 g + j
// is bits 2k, 2k + 1), Q3_K hm[g][4 r + j] = row r's hmask[4 g + j] (bit 4 c + k) and its
// scales decoded to int8 pairs scp[m][2 r + h] = scale 2 m + h (as Q6_K); Q2_K keeps its
// raw scale bytes (scale | min << 4) in the same pair layout.
//
// IQ4_NL (Q8_0 activations; 16-entry non-linear codebook t[], value d * t[q]):
//   acc = fma(dw * da, float(sum t[q] a), acc)                packed as Q4_0
// IQ4_XS (Q8_K activations; 8 sub-blocks of 32 with 6-bit scales ls - 32):
//   acc = fma(da * d, float(sum_j (ls_j - 32) * (t[q] . a)_j), acc)
// Packed: d[r], sc[j][r] = row r's ls_j - 32, qs[128 j + 32 g + 4 r + l] = row r's
// qs[16 j + 4 g + l] (each sub-block laid out as a Q4_0 block).
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/kernels/ggml_type.hpp"
#include "sluice/kernels/quant_blocks.hpp"

namespace sluice::kernels {

constexpr std::size_t k_group_rows = 8;

#pragma pack(push, 1)
struct packed_q4_0 { std::uint16_t d[8]; std::uint8_t qs[128]; };
struct packed_q8_0 { std::uint16_t d[8]; std::int8_t qs[256]; };
struct packed_q5_0 { std::uint16_t d[8]; std::uint8_t hb[32]; std::uint8_t qs[128]; };
struct packed_q6_k { std::uint16_t d[8]; std::int8_t scp[8][16]; std::uint8_t ql[2][2][8][32]; std::uint8_t qh[2][8][32]; };
struct packed_q4_k { std::uint16_t d[8], dmin[8]; std::uint8_t sc[8][8]; std::uint8_t mn[4][16]; std::uint8_t qs[1024]; };
struct packed_q4_1 { std::uint16_t d[8], m[8]; std::uint8_t qs[128]; };
struct packed_q5_1 { std::uint16_t d[8], m[8]; std::uint8_t hb[32]; std::uint8_t qs[128]; };
struct packed_q5_k { std::uint16_t d[8], dmin[8]; std::uint8_t sc[8][8]; std::uint8_t mn[4][16]; std::uint8_t qh[256]; std::uint8_t qs[1024]; };
struct packed_q3_k { std::uint16_t d[8]; std::int8_t scp[8][16]; std::uint8_t hm[8][32]; std::uint8_t qs[2][8][32]; };
struct packed_q2_k { std::uint16_t d[8], dmin[8]; std::uint8_t scp[8][16]; std::uint8_t qs[2][8][32]; };
struct packed_iq4_xs { std::uint16_t d[8]; std::int8_t sc[8][8]; std::uint8_t qs[1024]; };
#pragma pack(pop)
static_assert(sizeof(packed_q4_1) == 8 * sizeof(block_q4_1) && sizeof(packed_q5_1) == 8 * sizeof(block_q5_1));
static_assert(sizeof(packed_q2_k) == 8 * sizeof(block_q2_k));
static_assert(sizeof(packed_q4_0) == 8 * sizeof(block_q4_0) && sizeof(packed_q8_0) == 8 * sizeof(block_q8_0));
static_assert(sizeof(packed_q6_k) == 8 * sizeof(block_q6_k) && sizeof(packed_q5_0) == 8 * sizeof(block_q5_0));

// Quantised activations of a call: token t's block i is q[t * nb + i] (block_q8_0, or
// block_q8_1 for Q4_1 / Q5_1, block_q8_k for the 256-wide types), its scale as float d[t * nb + i].
// Q8_0: corr[t * nb + i] = corr_k * (sum of its 32 bytes) (the kernel's offset correction:
// Q4_0 multiplies unsigned nibbles, so corr_k = -8; the AVX-VNNI Q8_0 kernel multiplies
// w + 128, so -128; the AVX2 Q8_0 kernel needs none).
// Q8_K: corr[(t * nb + i) * 4 + k] = the sums of sub-blocks 2k and 2k+1 as two int16 (low, high).
struct gemm_acts {
    const void* q = nullptr;
    const float* d = nullptr;
    const std::int32_t* corr = nullptr;
    std::size_t nb = 0;
};

// One packed group against tokens [t0, t0 + nt): y[t * ldy + r] for t < nt, r < 8.
using gemm_fn = void (*)(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy);

// pair_fn, where a type has one: the same for two adjacent packed groups (16 rows: the
// second group's blocks follow the first's, y[t * ldy + r] for r < 16), the same results
// as fn on each group; faster when the weights are in cache (one activation broadcast
// serves both groups), slower when a call of few tokens streams them from memory, so it
// is used for calls of at least pair_min_tokens tokens.
struct gemm_kernel {
    gemm_fn fn = nullptr;
    int corr_k = 0;
    gemm_fn pair_fn = nullptr;
    std::size_t pair_min_tokens = 0;
};

// The scalar kernel (the reference of the SIMD ones; bit-identical to them).
gemm_kernel scalar_gemm_for(ggml_type type) noexcept;
// The kernel for this CPU (AVX-VNNI, AVX2 or scalar), or {} when the type has none
// (a type without an integer GEMM, or exact mode's float activations).
gemm_kernel best_gemm(ggml_type type);

// Packs rows [8 g0, 8 g1) of a matrix of a GEMM type (rows beyond n_out are zero) into dst.
void pack_groups(ggml_type type, const void* data, std::size_t row_bytes, std::size_t n_out, std::size_t nb,
                 std::size_t g0, std::size_t g1, void* dst) noexcept;

}  // namespace sluice::kernels
