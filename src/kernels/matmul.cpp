#include "sluice/kernels/matmul.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <vector>

#include "gemm.hpp"
#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/quant_blocks.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/kernels/vec_dot.hpp"
#include "sluice/util/error.hpp"

namespace sluice::kernels {
namespace {

constexpr std::size_t k_tile_rows = 32;      // rows of W dequantised per sgemm tile
constexpr std::size_t k_matvec_min_rows = 16;
constexpr std::size_t k_serial_prep_rows = 16;  // this many activation rows are prepared without the pool
constexpr std::size_t k_tok_block = 32;         // tokens passed over a task's weight groups at a time
constexpr std::size_t k_task_groups = 16;       // at most this many 8-row groups per task

void init_blas_once() {
    static std::once_flag once;
    // sluice's pool owns the cores; OpenBLAS threads would fight it.
    std::call_once(once, [] { openblas_set_num_threads(1); });
}

std::vector<std::byte>& scratch_bytes() {
    thread_local std::vector<std::byte> buf;
    return buf;
}

std::vector<float>& scratch_floats() {
    thread_local std::vector<float> buf;
    return buf;
}

std::size_t packed_block_bytes(ggml_type type) {
    switch (type) {
        case ggml_type::q4_0: return sizeof(packed_q4_0);
        case ggml_type::q8_0: return sizeof(packed_q8_0);
        case ggml_type::q5_0: return sizeof(packed_q5_0);
        case ggml_type::q4_k: return sizeof(packed_q4_k);
        case ggml_type::q6_k: return sizeof(packed_q6_k);
        case ggml_type::q4_1: return sizeof(packed_q4_1);
        case ggml_type::q5_1: return sizeof(packed_q5_1);
        case ggml_type::q5_k: return sizeof(packed_q5_k);
        case ggml_type::q3_k: return sizeof(packed_q3_k);
        case ggml_type::q2_k: return sizeof(packed_q2_k);
        case ggml_type::iq4_nl: return sizeof(packed_q4_0);
        case ggml_type::iq4_xs: return sizeof(packed_iq4_xs);
        default: return 0;
    }
}

std::size_t group_bytes(ggml_type type, std::size_t nb) { return nb * packed_block_bytes(type); }

// The activations of one integer-GEMM product, quantised once (per thread: the caller's;
// workers read them through pointers).
struct int_acts {
    std::vector<std::byte> q;
    std::vector<float> d;
    std::vector<std::int32_t> c;
};

// Quantises X [n_tok x n_in] into the activation format of w's type for kernel k.
gemm_acts prepare_acts(const weight_matrix& w, const gemm_kernel& k, const float* x, std::size_t n_tok, thread_pool& pool) {
    const act_format fmt = activation_format(w.type);
    const bool k_quant = fmt == act_format::q8_k;
    const std::size_t nb = w.n_in / (k_quant ? qk_k : qk), act_block = activation_bytes(fmt, k_quant ? qk_k : qk);
    const std::size_t n_corr = k_quant ? 4 : 1;  // correction words per block
    thread_local int_acts acts;
    acts.q.resize(n_tok * nb * act_block);
    acts.d.resize(n_tok * nb);
    acts.c.resize(n_tok * nb * n_corr);
    auto prepare = [&, q = acts.q.data(), d = acts.d.data(), c = acts.c.data()](std::size_t t) {
        std::byte* row = q + t * nb * act_block;
        quantize_activation(fmt, x + t * w.n_in, row, w.n_in);
        for (std::size_t i = 0; i < nb; ++i) {
            if (k_quant) {
                const auto& b = reinterpret_cast<const block_q8_k*>(row)[i];
                d[t * nb + i] = b.d;
                for (int g = 0; g < 4; ++g) {
                    const int lo = b.bsums[4 * g] + b.bsums[4 * g + 1], hi = b.bsums[4 * g + 2] + b.bsums[4 * g + 3];
                    c[(t * nb + i) * 4 + g] = static_cast<std::int32_t>(static_cast<std::uint16_t>(lo) | (static_cast<std::uint32_t>(static_cast<std::uint16_t>(hi)) << 16));
                }
                continue;
            }
            if (fmt == act_format::q8_1) {  // the tiles read d and s from the blocks
                d[t * nb + i] = reinterpret_cast<const block_q8_1*>(row)[i].d;
                continue;
            }
            const auto& b = reinterpret_cast<const block_q8_0*>(row)[i];
            d[t * nb + i] = fp16_to_fp32(b.d);
            std::int32_t sum = 0;
            for (int j = 0; j < qk; ++j) sum += b.qs[j];
            c[t * nb + i] = k.corr_k * sum;
        }
    };
    if (n_tok <= k_serial_prep_rows) {  // a decode step's few rows: cheaper than a pool round trip
        for (std::size_t t = 0; t < n_tok; ++t) prepare(t);
    } else {
        pool.run(n_tok, prepare);
    }
    return {acts.q.data(), acts.d.data(), acts.c.data(), nb};
}

// How the 8-row groups of one product are split into pool tasks.
struct group_split {
    std::size_t n_groups, per_task, n_tasks;
};

group_split split_groups(const weight_matrix& w, const thread_pool& pool) {
    const std::size_t n_groups = (w.n_out + k_group_rows - 1) / k_group_rows;
    const std::size_t per_task = std::clamp<std::size_t>(n_groups / (pool.size() * 8), 1, k_task_groups);
    return {n_groups, per_task, (n_groups + per_task - 1) / per_task};
}

// Task `task` of w's split: its run of 8-row groups (packed at load, or here into a
// per-thread buffer) against blocks of tokens, so a group's weights are read from cache
// once per k_tok_block tokens. Every output element is the fma chain of gemm.hpp whatever n_tok.
void run_groups(const weight_matrix& w, const gemm_kernel& k, const gemm_acts& acts, std::size_t n_tok, float* y,
                const group_split& split, std::size_t task) {
    const std::size_t g0 = task * split.per_task, g1 = std::min(split.n_groups, g0 + split.per_task);
    const std::size_t gbytes = group_bytes(w.type, acts.nb);
    const std::byte* groups;
    if (w.packed != nullptr) {
        groups = static_cast<const std::byte*>(w.packed) + g0 * gbytes;
    } else {
        auto& buf = scratch_bytes();
        buf.resize((g1 - g0) * gbytes);
        pack_groups(w.type, w.data, w.row_bytes, w.n_out, acts.nb, g0, g1, buf.data());
        groups = buf.data();
    }
    for (std::size_t t0 = 0; t0 < n_tok; t0 += k_tok_block) {
        const std::size_t nt = std::min(k_tok_block, n_tok - t0);
        const bool pairs = k.pair_fn != nullptr && nt >= k.pair_min_tokens;
        for (std::size_t g = g0; g < g1; ++g) {
            const std::size_t r0 = g * k_group_rows;
            const void* group = groups + (g - g0) * gbytes;
            if (pairs && g + 1 < g1 && r0 + 2 * k_group_rows <= w.n_out) {
                k.pair_fn(group, acts, t0, nt, y + t0 * w.n_out + r0, w.n_out);
                ++g;
                continue;
            }
            if (r0 + k_group_rows <= w.n_out) {
                k.fn(group, acts, t0, nt, y + t0 * w.n_out + r0, w.n_out);
                continue;
            }
            float tmp[k_tok_block * k_group_rows];  // the padded last group
            k.fn(group, acts, t0, nt, tmp, k_group_rows);
            for (std::size_t t = 0; t < nt; ++t) {
                for (std::size_t r = r0; r < w.n_out; ++r) y[(t0 + t) * w.n_out + r] = tmp[t * k_group_rows + r - r0];
            }
        }
    }
}

// Y [n_tok x n_out] through the integer GEMM (gemm.hpp): activations quantised once, then
// the groups split across the pool.
void matmul_int(const weight_matrix& w, const gemm_kernel& k, const float* x, std::size_t n_tok, float* y, thread_pool& pool) {
    const gemm_acts acts = prepare_acts(w, k, x, n_tok, pool);
    const group_split split = split_groups(w, pool);
    pool.run(split.n_tasks, [&](std::size_t task) { run_groups(w, k, acts, n_tok, y, split, task); });
}

}  // namespace

std::size_t packed_bytes(const weight_matrix& w) noexcept {
    if (packed_block_bytes(w.type) == 0) return 0;
    return (w.n_out + k_group_rows - 1) / k_group_rows * group_bytes(w.type, w.n_in / traits_of(w.type).block_size);
}

void pack_weights(const weight_matrix& w, void* dst) {
    if (packed_bytes(w) == 0) throw error(errc::unsupported, "pack_weights: no packed layout for " + std::string(name_of(w.type)));
    pack_groups(w.type, w.data, w.row_bytes, w.n_out, w.n_in / traits_of(w.type).block_size, 0,
                (w.n_out + k_group_rows - 1) / k_group_rows, dst);
}

weight_matrix make_weight_matrix(ggml_type type, const void* data, std::size_t n_in, std::size_t n_out) {
    const auto t = traits_of(type);
    if (n_in % t.block_size != 0) {
        throw error(errc::invalid_argument, "row length " + std::to_string(n_in) + " is not a multiple of the " +
                                                std::string(t.name) + " block size");
    }
    if (activation_format(type) == act_format::q8_k && n_in % 256 != 0) {
        throw error(errc::unsupported, "K-quant rows must be a multiple of 256");
    }
    return {type, data, n_in, n_out, n_in / t.block_size * t.type_size};
}

void matvec(const weight_matrix& w, const float* x, float* y, thread_pool& pool) {
    if (const gemm_kernel k = best_gemm(w.type); k.fn != nullptr) {
        matmul_int(w, k, x, 1, y, pool);
        return;
    }
    const act_format fmt = activation_format(w.type);
    auto& act = scratch_bytes();
    act.resize(activation_bytes(fmt, w.n_in));
    quantize_activation(fmt, x, act.data(), w.n_in);
    const dot_fn dot = best_dot(w.type);
    const std::size_t chunk = std::max(k_matvec_min_rows, w.n_out / (pool.size() * 8) + 1);
    const std::size_t n_chunks = (w.n_out + chunk - 1) / chunk;
    const auto* base = static_cast<const std::byte*>(w.data);
    const void* a = act.data();
    pool.run(n_chunks, [&](std::size_t c) {
        const std::size_t end = std::min(w.n_out, (c + 1) * chunk);
        for (std::size_t r = c * chunk; r < end; ++r) y[r] = dot(w.n_in, base + r * w.row_bytes, a);
    });
}

void matmul(const weight_matrix& w, const float* x, std::size_t n_tok, float* y, thread_pool& pool) {
    if (const gemm_kernel k = best_gemm(w.type); k.fn != nullptr) {
        matmul_int(w, k, x, n_tok, y, pool);
        return;
    }
    if (n_tok == 1) {
        matvec(w, x, y, pool);
        return;
    }
    init_blas_once();
    // Round the activations exactly as matvec would, so both paths compute the same products.
    const act_format fmt = activation_format(w.type);
    std::vector<float> xr(n_tok * w.n_in);
    if (fmt == act_format::f32) {
        std::copy(x, x + n_tok * w.n_in, xr.begin());
    } else {
        pool.run(n_tok, [&](std::size_t t) {
            auto& q = scratch_bytes();
            q.resize(activation_bytes(fmt, w.n_in));
            quantize_activation(fmt, x + t * w.n_in, q.data(), w.n_in);
            dequantize_activation(fmt, q.data(), xr.data() + t * w.n_in, w.n_in);
        });
    }
    const std::size_t n_tiles = (w.n_out + k_tile_rows - 1) / k_tile_rows;
    const auto* base = static_cast<const std::byte*>(w.data);
    pool.run(n_tiles, [&](std::size_t tile) {
        const std::size_t r0 = tile * k_tile_rows;
        const std::size_t rows = std::min(k_tile_rows, w.n_out - r0);
        const float* wt;
        if (w.type == ggml_type::f32) {
            wt = reinterpret_cast<const float*>(base + r0 * w.row_bytes);
        } else {
            auto& buf = scratch_floats();
            buf.resize(rows * w.n_in);
            for (std::size_t r = 0; r < rows; ++r) {
                dequantize_row(w.type, base + (r0 + r) * w.row_bytes, buf.data() + r * w.n_in, w.n_in);
            }
            wt = buf.data();
        }
        // Y[:, r0:r0+rows] = Xr [n_tok x n_in] @ Wt^T [n_in x rows]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n_tok), static_cast<int>(rows),
                    static_cast<int>(w.n_in), 1.0f, xr.data(), static_cast<int>(w.n_in), wt,
                    static_cast<int>(w.n_in), 0.0f, y + r0, static_cast<int>(w.n_out));
    });
}

void matmul_rows(const weight_matrix& w, const float* x, std::size_t n_tok, float* y, thread_pool& pool) {
    if (const gemm_kernel k = best_gemm(w.type); k.fn != nullptr) {
        matmul_int(w, k, x, n_tok, y, pool);
        return;
    }
    if (n_tok == 1) {
        matvec(w, x, y, pool);
        return;
    }
    const act_format fmt = activation_format(w.type);
    const std::size_t act_row = activation_bytes(fmt, w.n_in);
    thread_local std::vector<std::byte> act;  // the caller's thread; workers only read them
    act.resize(n_tok * act_row);
    std::byte* const acts = act.data();
    auto quantize = [&](std::size_t t) { quantize_activation(fmt, x + t * w.n_in, acts + t * act_row, w.n_in); };
    // A decode step's few rows are prepared on this thread: cheaper than a pool round trip.
    if (n_tok <= k_serial_prep_rows) {
        for (std::size_t t = 0; t < n_tok; ++t) quantize(t);
    } else {
        pool.run(n_tok, quantize);
    }
    const dot_fn dot = best_dot(w.type);
    // Tiles of W small enough to stay in L1/L2 while every token passes over them.
    const std::size_t tile = std::max<std::size_t>(4, std::min<std::size_t>(k_tile_rows, w.n_out / (pool.size() * 4) + 1));
    const std::size_t n_tiles = (w.n_out + tile - 1) / tile;
    const auto* base = static_cast<const std::byte*>(w.data);
    pool.run(n_tiles, [&](std::size_t c) {
        const std::size_t end = std::min(w.n_out, (c + 1) * tile);
        for (std::size_t t = 0; t < n_tok; ++t) {
            const void* a = acts + t * act_row;
            float* yt = y + t * w.n_out;
            for (std::size_t r = c * tile; r < end; ++r) yt[r] = dot(w.n_in, base + r * w.row_bytes, a);
        }
    });
}

void matmul_many(std::span<const matmul_job> jobs, const float* x, std::size_t n_tok, bool batch_invariant, thread_pool& pool) {
    if (jobs.empty()) return;
    const weight_matrix& w0 = *jobs[0].w;
    const gemm_kernel k0 = best_gemm(w0.type);
    bool shared = k0.fn != nullptr;
    for (const auto& j : jobs) {
        const gemm_kernel k = best_gemm(j.w->type);
        shared = shared && k.fn != nullptr && j.w->n_in == w0.n_in && activation_format(j.w->type) == activation_format(w0.type) &&
                 k.corr_k == k0.corr_k;
    }
    if (!shared) {
        for (const auto& j : jobs) (batch_invariant ? matmul_rows : matmul)(*j.w, x, n_tok, j.y, pool);
        return;
    }
    // The activation rows are identical for every product (same format, same correction
    // factor), so quantise once; then one pool run over every product's tasks.
    const gemm_acts acts = prepare_acts(w0, k0, x, n_tok, pool);
    constexpr std::size_t k_max_jobs = 8;
    if (jobs.size() > k_max_jobs) throw error(errc::invalid_argument, "matmul_many: too many products");
    gemm_kernel ks[k_max_jobs];
    group_split splits[k_max_jobs];
    std::size_t first_task[k_max_jobs + 1] = {0};
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        ks[i] = best_gemm(jobs[i].w->type);
        splits[i] = split_groups(*jobs[i].w, pool);
        first_task[i + 1] = first_task[i] + splits[i].n_tasks;
    }
    pool.run(first_task[jobs.size()], [&](std::size_t task) {
        std::size_t i = 0;
        while (task >= first_task[i + 1]) ++i;
        run_groups(*jobs[i].w, ks[i], acts, n_tok, jobs[i].y, splits[i], task - first_task[i]);
    });
}

void matvec_reference(const weight_matrix& w, const float* x, float* y) {
    const act_format fmt = activation_format(w.type);
    std::vector<std::byte> act(activation_bytes(fmt, w.n_in));
    quantize_activation(fmt, x, act.data(), w.n_in);
    const dot_fn dot = reference_dot(w.type);
    const auto* base = static_cast<const std::byte*>(w.data);
    for (std::size_t r = 0; r < w.n_out; ++r) y[r] = dot(w.n_in, base + r * w.row_bytes, act.data());
}

}  // namespace sluice::kernels
