#include "sluice/kernels/matmul.hpp"

#include <cblas.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <vector>

#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/kernels/vec_dot.hpp"
#include "sluice/util/error.hpp"

namespace sluice::kernels {
namespace {

constexpr std::size_t k_tile_rows = 32;      // rows of W dequantised per sgemm tile
constexpr std::size_t k_matvec_min_rows = 16;
constexpr std::size_t k_serial_prep_rows = 16;  // matmul_rows prepares this many activation rows without the pool

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

}  // namespace

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
    if (n_tok == 1) {
        matvec(w, x, y, pool);
        return;
    }
    const act_format fmt = activation_format(w.type);
    const std::size_t act_row = activation_bytes(fmt, w.n_in);
    thread_local std::vector<std::byte> act;  // the caller's thread; workers only read them
    thread_local std::vector<act_group> groups;
    act.resize(n_tok * act_row);
    std::byte* const acts = act.data();
    // A decode step's few rows are prepared on this thread: cheaper than a pool round trip.
    const bool serial_prep = n_tok <= k_serial_prep_rows;
    auto run_prep = [&](std::size_t n, const std::function<void(std::size_t)>& fn) {
        if (serial_prep) {
            for (std::size_t i = 0; i < n; ++i) fn(i);
        } else {
            pool.run(n, fn);
        }
    };
    run_prep(n_tok, [&](std::size_t t) { quantize_activation(fmt, x + t * w.n_in, acts + t * act_row, w.n_in); });

    // Rows [0, n_grouped) go through the multi-row kernels in groups of 8, then one of 4.
    const dotn_fn dot8 = best_dotn(w.type, 8), dot4 = best_dotn(w.type, 4);
    std::size_t n_grouped = 0;
    thread_local std::vector<std::pair<std::size_t, dotn_fn>> plan_storage;
    auto& plan = plan_storage;  // (first row, kernel) per group; the lambdas see this thread's
    plan.clear();
    for (; dot8 != nullptr && n_grouped + 8 <= n_tok; n_grouped += 8) plan.emplace_back(n_grouped, dot8);
    for (; dot4 != nullptr && n_grouped + 4 <= n_tok; n_grouped += 4) plan.emplace_back(n_grouped, dot4);
    if (!plan.empty() && fmt != act_format::q8_0) throw error(errc::unsupported, "matmul_rows: the multi-row kernels take Q8_0 activations");
    if (groups.size() < plan.size()) groups.resize(plan.size());
    act_group* const grp = groups.data();  // a thread_local named inside the lambdas would be each worker's own
    run_prep(plan.size(), [&](std::size_t i) {
        const std::size_t size = plan[i].second == dot8 ? 8 : 4;
        const void* rows[8];
        for (std::size_t k = 0; k < size; ++k) rows[k] = acts + (plan[i].first + k) * act_row;
        prepare_act_group(grp[i], rows, size, w.n_in, w.type == ggml_type::q4_0);
    });

    const dot_fn dot = best_dot(w.type);
    // Tiles of W small enough to stay in L1/L2 while every token passes over them.
    const std::size_t tile = std::max<std::size_t>(4, std::min<std::size_t>(k_tile_rows, w.n_out / (pool.size() * 4) + 1));
    const std::size_t n_tiles = (w.n_out + tile - 1) / tile;
    const auto* base = static_cast<const std::byte*>(w.data);
    pool.run(n_tiles, [&](std::size_t c) {
        const std::size_t end = std::min(w.n_out, (c + 1) * tile);
        for (std::size_t i = 0; i < plan.size(); ++i) {
            const auto [t, fn] = plan[i];
            const std::size_t size = fn == dot8 ? 8 : 4;
            float out[8];
            for (std::size_t r = c * tile; r < end; ++r) {
                fn(w.n_in, base + r * w.row_bytes, grp[i], out);
                for (std::size_t k = 0; k < size; ++k) y[(t + k) * w.n_out + r] = out[k];
            }
        }
        for (std::size_t t = n_grouped; t < n_tok; ++t) {
            const void* a = acts + t * act_row;
            float* yt = y + t * w.n_out;
            for (std::size_t r = c * tile; r < end; ++r) yt[r] = dot(w.n_in, base + r * w.row_bytes, a);
        }
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
