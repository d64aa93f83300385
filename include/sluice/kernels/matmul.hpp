// Weight-matrix products over raw GGUF tensors, split across a thread_pool.
//
//   W [n_out x n_in] (row r = output r; n_in contiguous, the GGUF ne[0])
//   matvec: y[n_out]         = W @ x[n_in]
//   matmul: Y[n_tok x n_out] = X[n_tok x n_in] @ W^T
//
// Activations are quantised once per call into the weight type's activation format
// (kernels/quantize.hpp). Every quantised type (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K..Q6_K
// IQ4_NL IQ4_XS) goes through one integer GEMM for matvec, matmul and matmul_rows alike: a
// register-tiled kernel over groups of 8 rows (interleaved at load time by pack_weights,
// or per call) whose every output is the same chain of per-block integer dots and fmas as
// integer_dot (vec_dot.hpp), so all three agree bit for bit and are batch-invariant.
// Float weights (F32 F16 BF16), and every type in exact mode (float activations): matvec
// with float dot products per row, matmul by dequantising tiles of W to float and calling
// OpenBLAS sgemm.
#pragma once

#include <cstddef>
#include <span>

#include "sluice/kernels/ggml_type.hpp"
#include "sluice/util/thread_pool.hpp"

namespace sluice::kernels {

struct weight_matrix {
    ggml_type type = ggml_type::f32;
    const void* data = nullptr;
    std::size_t n_in = 0;
    std::size_t n_out = 0;
    std::size_t row_bytes = 0;  // bytes of one row (n_in values)
    // Optional copy of the rows in the GEMM's interleaved layout (pack_weights), owned by
    // whoever made it (llm_model); data stays the original. nullptr: packed per call.
    const void* packed = nullptr;
};

// Bytes pack_weights writes for w, or 0 when its type has no packed layout (the float
// types).
std::size_t packed_bytes(const weight_matrix& w) noexcept;
// Writes w's rows in the GEMM's layout to dst (packed_bytes(w) bytes); then set
// w.packed = dst. The layout does not depend on the CPU.
void pack_weights(const weight_matrix& w, void* dst);

weight_matrix make_weight_matrix(ggml_type type, const void* data, std::size_t n_in, std::size_t n_out);

void matvec(const weight_matrix& w, const float* x, float* y, thread_pool& pool);
void matmul(const weight_matrix& w, const float* x, std::size_t n_tok, float* y, thread_pool& pool);

// Batch-invariant matmul: Y[t] is bit-for-bit matvec(W, X[t]) whatever n_tok and the
// row's place in the batch (the same integer dot for every element), so a sequence's
// results do not depend on what shares its batch. Each tile of W is reused across all
// n_tok rows, which turns decode of many sequences from memory-bound into compute-bound.
void matmul_rows(const weight_matrix& w, const float* x, std::size_t n_tok, float* y, thread_pool& pool);

// Several products of one input: Y_j [n_tok x n_out_j] = X [n_tok x n_in] @ W_j^T. Each Y_j
// is bit for bit what matmul (or, with batch_invariant, matmul_rows) computes alone; when
// the products share the integer GEMM's activation format, X is quantised once and all
// products' tasks share one pool run (the attention's Q/K/V, the FFN's gate/up). At most 8.
struct matmul_job {
    const weight_matrix* w;
    float* y;
};
void matmul_many(std::span<const matmul_job> jobs, const float* x, std::size_t n_tok, bool batch_invariant, thread_pool& pool);

// Single-threaded scalar reference of matvec (the oracle of the tests).
void matvec_reference(const weight_matrix& w, const float* x, float* y);

}  // namespace sluice::kernels
