// Weight-matrix products over raw GGUF tensors, split across a thread_pool.
//
//   W [n_out x n_in] (row r = output r; n_in contiguous, the GGUF ne[0])
//   matvec: y[n_out]         = W @ x[n_in]
//   matmul: Y[n_tok x n_out] = X[n_tok x n_in] @ W^T
//
// Activations are quantised once per call into the weight type's activation format
// (kernels/quantize.hpp), so matvec and matmul compute the same products: matvec with
// integer dot products (memory-bound decode), matmul by dequantising tiles of W and
// the quantised activations to float and calling OpenBLAS sgemm (compute-bound prefill).
#pragma once

#include <cstddef>

#include "sluice/kernels/ggml_type.hpp"
#include "sluice/util/thread_pool.hpp"

namespace sluice::kernels {

struct weight_matrix {
    ggml_type type = ggml_type::f32;
    const void* data = nullptr;
    std::size_t n_in = 0;
    std::size_t n_out = 0;
    std::size_t row_bytes = 0;  // bytes of one row (n_in values)
};

weight_matrix make_weight_matrix(ggml_type type, const void* data, std::size_t n_in, std::size_t n_out);

void matvec(const weight_matrix& w, const float* x, float* y, thread_pool& pool);
void matmul(const weight_matrix& w, const float* x, std::size_t n_tok, float* y, thread_pool& pool);

// Batch-invariant matmul: Y[t] is bit-for-bit matvec(W, X[t]) whatever n_tok and the
// row's place in the batch (the same integer dot for every element), so a sequence's
// results do not depend on what shares its batch. Each tile of W is reused across all
// n_tok rows, which turns decode of many sequences from memory-bound into compute-bound.
void matmul_rows(const weight_matrix& w, const float* x, std::size_t n_tok, float* y, thread_pool& pool);

// Single-threaded scalar reference of matvec (the oracle of the tests).
void matvec_reference(const weight_matrix& w, const float* x, float* y);

}  // namespace sluice::kernels
