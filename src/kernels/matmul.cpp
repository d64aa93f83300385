#include "sluice/kernels/matmul.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <vector>

#include "gemm.hpp"
#include "k_scales.hpp"
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
        default: return 0;
    }
}

std::size_t group_bytes(ggml_type type, std::size_t nb) { return nb * packed_block_bytes(type); }

// Y [n_tok x n_out] through the integer GEMM (gemm.hpp): activations quantised once, then
// each task takes a run of 8-row groups (packed at load, or here into a per-thread buffer)
// and passes blocks of tokens over them, so a group's weights are read from cache once per
// k_tok_block tokens. Every output element is the fma chain of gemm.hpp whatever n_tok.
void matmul_int(const weight_matrix& w, const gemm_kernel& k, const float* x, std::size_t n_tok, float* y, thread_pool& pool) {
    const bool k_quant = w.type == ggml_type::q4_k || w.type == ggml_type::q6_k;
    const act_format fmt = k_quant ? act_format::q8_k : act_format::q8_0;
    const std::size_t nb = w.n_in / (k_quant ? qk_k : qk), act_block = k_quant ? sizeof(block_q8_k) : sizeof(block_q8_0);
    const std::size_t n_corr = k_quant ? 4 : 1;  // correction words per block
    thread_local std::vector<std::byte> act_q;  // the caller's thread; workers read them through pointers
    thread_local std::vector<float> act_d;
    thread_local std::vector<std::int32_t> act_c;
    act_q.resize(n_tok * nb * act_block);
    act_d.resize(n_tok * nb);
    act_c.resize(n_tok * nb * n_corr);
    const gemm_acts acts{act_q.data(), act_d.data(), act_c.data(), nb};
    auto prepare = [&, q = act_q.data(), d = act_d.data(), c = act_c.data()](std::size_t t) {
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
    const std::size_t n_groups = (w.n_out + k_group_rows - 1) / k_group_rows;
    const std::size_t per_task = std::clamp<std::size_t>(n_groups / (pool.size() * 8), 1, k_task_groups);
    const std::size_t n_tasks = (n_groups + per_task - 1) / per_task;
    const std::size_t gbytes = group_bytes(w.type, nb);
    pool.run(n_tasks, [&](std::size_t task) {
        const std::size_t g0 = task * per_task, g1 = std::min(n_groups, g0 + per_task);
        const std::byte* groups;
        if (w.packed != nullptr) {
            groups = static_cast<const std::byte*>(w.packed) + g0 * gbytes;
        } else {
            auto& buf = scratch_bytes();
            buf.resize((g1 - g0) * gbytes);
            pack_groups(w.type, w.data, w.row_bytes, w.n_out, nb, g0, g1, buf.data());
            groups = buf.data();
        }
        for (std::size_t t0 = 0; t0 < n_tok; t0 += k_tok_block) {
            const std::size_t nt = std::min(k_tok_block, n_tok - t0);
            for (std::size_t g = g0; g < g1; ++g) {
                const std::size_t r0 = g * k_group_rows;
                const void* group = groups + (g - g0) * gbytes;
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
    });
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

namespace {

void pack_q4_k(const std::byte* base, std::size_t row_bytes, std::size_t n_out, std::size_t nb, std::size_t g0, std::size_t g1,
               packed_q4_k* out) noexcept {
    for (std::size_t g = g0; g < g1; ++g) {
        for (std::size_t i = 0; i < nb; ++i) {
            packed_q4_k& p = out[(g - g0) * nb + i];
            std::memset(&p, 0, sizeof p);
            for (std::size_t r = 0; r < k_group_rows; ++r) {
                const std::size_t row = g * k_group_rows + r;
                if (row >= n_out) continue;
                const auto& b = reinterpret_cast<const block_q4_k*>(base + row * row_bytes)[i];
                p.d[r] = b.d;
                p.dmin[r] = b.dmin;
                for (int j = 0; j < 8; ++j) {
                    std::uint8_t sc, mn;
                    k_scale_min(j, b.scales, sc, mn);
                    p.sc[j][r] = sc;
                    p.mn[j / 2][2 * r + j % 2] = mn;
                }
                for (std::size_t k = 0; k < 4; ++k) {
                    for (std::size_t run = 0; run < 8; ++run) std::memcpy(p.qs + 256 * k + 32 * run + 4 * r, b.qs + 32 * k + 4 * run, 4);
                }
            }
        }
    }
}

void pack_q5_0(const std::byte* base, std::size_t row_bytes, std::size_t n_out, std::size_t nb, std::size_t g0, std::size_t g1,
               packed_q5_0* out) noexcept {
    for (std::size_t g = g0; g < g1; ++g) {
        for (std::size_t i = 0; i < nb; ++i) {
            packed_q5_0& p = out[(g - g0) * nb + i];
            std::memset(&p, 0, sizeof p);
            for (std::size_t r = 0; r < k_group_rows; ++r) {
                const std::size_t row = g * k_group_rows + r;
                if (row >= n_out) continue;
                const auto& b = reinterpret_cast<const block_q5_0*>(base + row * row_bytes)[i];
                p.d[r] = b.d;
                std::uint32_t qh;
                std::memcpy(&qh, b.qh, 4);
                for (std::size_t run = 0; run < 4; ++run) {
                    std::memcpy(p.qs + 32 * run + 4 * r, b.qs + 4 * run, 4);
                    for (std::size_t j = 0; j < 4; ++j) {
                        p.hb[4 * r + j] |= static_cast<std::uint8_t>(((qh >> (4 * run + j)) & 1) << run);
                        p.hb[4 * r + j] |= static_cast<std::uint8_t>(((qh >> (16 + 4 * run + j)) & 1) << (4 + run));
                    }
                }
            }
        }
    }
}

void pack_q6_k(const std::byte* base, std::size_t row_bytes, std::size_t n_out, std::size_t nb, std::size_t g0, std::size_t g1,
               packed_q6_k* out) noexcept {
    for (std::size_t g = g0; g < g1; ++g) {
        for (std::size_t i = 0; i < nb; ++i) {
            packed_q6_k& p = out[(g - g0) * nb + i];
            std::memset(&p, 0, sizeof p);
            for (std::size_t r = 0; r < k_group_rows; ++r) {
                const std::size_t row = g * k_group_rows + r;
                if (row >= n_out) continue;
                const auto& b = reinterpret_cast<const block_q6_k*>(base + row * row_bytes)[i];
                p.d[r] = b.d;
                for (std::size_t m = 0; m < 8; ++m) {
                    p.scp[m][2 * r] = b.scales[2 * m];
                    p.scp[m][2 * r + 1] = b.scales[2 * m + 1];
                }
                for (std::size_t c = 0; c < 2; ++c) {
                    for (std::size_t run = 0; run < 8; ++run) {
                        for (std::size_t h = 0; h < 2; ++h) std::memcpy(p.ql[c][h][run] + 4 * r, b.ql + 64 * c + 32 * h + 4 * run, 4);
                        std::memcpy(p.qh[c][run] + 4 * r, b.qh + 32 * c + 4 * run, 4);
                    }
                }
            }
        }
    }
}

}  // namespace

void pack_groups(ggml_type type, const void* data, std::size_t row_bytes, std::size_t n_out, std::size_t nb,
                 std::size_t g0, std::size_t g1, void* dst) noexcept {
    if (type == ggml_type::q4_k) {
        pack_q4_k(static_cast<const std::byte*>(data), row_bytes, n_out, nb, g0, g1, static_cast<packed_q4_k*>(dst));
        return;
    }
    if (type == ggml_type::q5_0) {
        pack_q5_0(static_cast<const std::byte*>(data), row_bytes, n_out, nb, g0, g1, static_cast<packed_q5_0*>(dst));
        return;
    }
    if (type == ggml_type::q6_k) {
        pack_q6_k(static_cast<const std::byte*>(data), row_bytes, n_out, nb, g0, g1, static_cast<packed_q6_k*>(dst));
        return;
    }
    const bool q4 = type == ggml_type::q4_0;
    const std::size_t n_runs = q4 ? 4 : 8;  // 4-byte runs of qs per block
    auto* out = static_cast<std::byte*>(dst);
    const auto* base = static_cast<const std::byte*>(data);
    for (std::size_t g = g0; g < g1; ++g) {
        for (std::size_t i = 0; i < nb; ++i) {
            // Both packed blocks are d[8] then qs; both source blocks are d then qs.
            std::byte* p = out + ((g - g0) * nb + i) * (q4 ? sizeof(packed_q4_0) : sizeof(packed_q8_0));
            std::byte* pqs = p + 16;
            for (std::size_t r = 0; r < k_group_rows; ++r) {
                const std::size_t row = g * k_group_rows + r;
                if (row >= n_out) {
                    std::memset(p + 2 * r, 0, 2);
                    for (std::size_t j = 0; j < n_runs; ++j) std::memset(pqs + 32 * j + 4 * r, 0, 4);
                    continue;
                }
                const std::byte* src = base + row * row_bytes + i * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
                std::memcpy(p + 2 * r, src, 2);
                for (std::size_t j = 0; j < n_runs; ++j) std::memcpy(pqs + 32 * j + 4 * r, src + 2 + 4 * j, 4);
            }
        }
    }
}

// The scalar GEMM kernel: gemm.hpp's numerics read from the packed layout.
template <bool Q4>
void scalar_gemm_group(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const std::int8_t* aq = static_cast<const block_q8_0*>(a.q)[(t0 + t) * nb + i].qs;
                std::uint16_t dw;
                std::int32_t isum = 0;
                if constexpr (Q4) {
                    const auto& b = static_cast<const packed_q4_0*>(group)[i];
                    dw = b.d[r];
                    for (int g = 0; g < 4; ++g) {
                        for (int j = 0; j < 4; ++j) {
                            const int q = b.qs[32 * g + 4 * r + j];
                            isum += ((q & 0x0F) - 8) * aq[4 * g + j] + ((q >> 4) - 8) * aq[16 + 4 * g + j];
                        }
                    }
                } else {
                    const auto& b = static_cast<const packed_q8_0*>(group)[i];
                    dw = b.d[r];
                    for (int g = 0; g < 8; ++g) {
                        for (int j = 0; j < 4; ++j) isum += b.qs[32 * g + 4 * r + j] * aq[4 * g + j];
                    }
                }
                acc = std::fma(fp16_to_fp32(dw) * a.d[(t0 + t) * nb + i], static_cast<float>(isum), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

void scalar_gemm_q4_k(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed_q4_k*>(group)[i];
                const auto& q8 = static_cast<const block_q8_k*>(a.q)[(t0 + t) * nb + i];
                std::int32_t isum = 0, msum = 0;
                for (int j = 0; j < 8; ++j) {
                    std::int32_t dot = 0;
                    for (int g = 0; g < 8; ++g) {
                        for (int l = 0; l < 4; ++l) {
                            const int q = b.qs[256 * (j / 2) + 32 * g + 4 * r + l];
                            dot += ((j % 2 != 0) ? q >> 4 : q & 0x0F) * q8.qs[32 * j + 4 * g + l];
                        }
                    }
                    isum += b.sc[j][r] * dot;
                    msum += b.mn[j / 2][2 * r + j % 2] * (q8.bsums[2 * j] + q8.bsums[2 * j + 1]);
                }
                const float da = a.d[(t0 + t) * nb + i];
                acc = std::fma(fp16_to_fp32(b.d[r]) * da, static_cast<float>(isum), acc);
                acc = std::fma(-(fp16_to_fp32(b.dmin[r]) * da), static_cast<float>(msum), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

void scalar_gemm_q6_k(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed_q6_k*>(group)[i];
                const auto& q8 = static_cast<const block_q8_k*>(a.q)[(t0 + t) * nb + i];
                std::int32_t isum = 0, bias = 0;
                for (int c = 0; c < 2; ++c) {
                    for (int g4 = 0; g4 < 4; ++g4) {
                        for (int hs = 0; hs < 2; ++hs) {
                            std::int32_t dot = 0;
                            for (int g = 4 * hs; g < 4 * hs + 4; ++g) {
                                for (int l = 0; l < 4; ++l) {
                                    const int lo = b.ql[c][g4 & 1][g][4 * r + l], hi = b.qh[c][g][4 * r + l];
                                    const int q = ((g4 >> 1) != 0 ? lo >> 4 : lo & 0x0F) | (((hi >> (2 * g4)) & 3) << 4);
                                    dot += q * q8.qs[128 * c + 32 * g4 + 4 * g + l];
                                }
                            }
                            isum += b.scp[4 * c + g4][2 * r + hs] * dot;
                        }
                    }
                }
                for (int s = 0; s < 16; ++s) bias += b.scp[s / 2][2 * r + s % 2] * q8.bsums[s];
                acc = std::fma(fp16_to_fp32(b.d[r]) * a.d[(t0 + t) * nb + i], static_cast<float>(isum - 32 * bias), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

void scalar_gemm_q5_0(const void* group, const gemm_acts& a, std::size_t t0, std::size_t nt, float* y, std::size_t ldy) {
    const std::size_t nb = a.nb;
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t r = 0; r < k_group_rows; ++r) {
            float acc = 0;
            for (std::size_t i = 0; i < nb; ++i) {
                const auto& b = static_cast<const packed_q5_0*>(group)[i];
                const std::int8_t* aq = static_cast<const block_q8_0*>(a.q)[(t0 + t) * nb + i].qs;
                std::int32_t isum = 0;
                for (int g = 0; g < 4; ++g) {
                    for (int j = 0; j < 4; ++j) {
                        const int q = b.qs[32 * g + 4 * r + j], h = b.hb[4 * r + j];
                        isum += ((q & 0x0F) | (((h >> g) & 1) << 4)) * aq[4 * g + j] - 16 * aq[4 * g + j];
                        isum += ((q >> 4) | (((h >> (4 + g)) & 1) << 4)) * aq[16 + 4 * g + j] - 16 * aq[16 + 4 * g + j];
                    }
                }
                acc = std::fma(fp16_to_fp32(b.d[r]) * a.d[(t0 + t) * nb + i], static_cast<float>(isum), acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

gemm_kernel scalar_gemm_for(ggml_type type) noexcept {
    if (type == ggml_type::q5_0) return {scalar_gemm_q5_0, 0};
    if (type == ggml_type::q6_k) return {scalar_gemm_q6_k, 0};
    if (type == ggml_type::q4_0) return {scalar_gemm_group<true>, 0};
    if (type == ggml_type::q8_0) return {scalar_gemm_group<false>, 0};
    if (type == ggml_type::q4_k) return {scalar_gemm_q4_k, 0};
    return {};
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

void matvec_reference(const weight_matrix& w, const float* x, float* y) {
    const act_format fmt = activation_format(w.type);
    std::vector<std::byte> act(activation_bytes(fmt, w.n_in));
    quantize_activation(fmt, x, act.data(), w.n_in);
    const dot_fn dot = reference_dot(w.type);
    const auto* base = static_cast<const std::byte*>(w.data);
    for (std::size_t r = 0; r < w.n_out; ++r) y[r] = dot(w.n_in, base + r * w.row_bytes, act.data());
}

}  // namespace sluice::kernels
