// pack_groups: raw GGUF rows -> the integer GEMM's interleaved 8-row groups (layouts in
// gemm.hpp). Runs once per matrix at load (llm_model), or per call for unpacked matrices.
#include <cstring>

#include "gemm.hpp"
#include "k_scales.hpp"

namespace sluice::kernels {
namespace {

// Calls f(packed block, raw block, r) for every row r < 8 of groups [g0, g1) that exists
// (row < n_out) and every block; packed blocks start zeroed, so padding rows stay zero.
template <class P, class B, class F>
void pack_each(const void* data, std::size_t row_bytes, std::size_t n_out, std::size_t nb, std::size_t g0, std::size_t g1,
               void* dst, F&& f) noexcept {
    auto* out = static_cast<P*>(dst);
    const auto* base = static_cast<const std::byte*>(data);
    for (std::size_t g = g0; g < g1; ++g) {
        for (std::size_t i = 0; i < nb; ++i) {
            P& p = out[(g - g0) * nb + i];
            std::memset(&p, 0, sizeof p);
            for (std::size_t r = 0; r < k_group_rows; ++r) {
                const std::size_t row = g * k_group_rows + r;
                if (row < n_out) f(p, reinterpret_cast<const B*>(base + row * row_bytes)[i], r);
            }
        }
    }
}

// The 4-byte runs of a 32-value block's 16 qs bytes: run g of row r at qs[32 g + 4 r].
inline void put_runs(std::uint8_t* qs, const std::uint8_t* src, std::size_t n_runs, std::size_t r) {
    for (std::size_t g = 0; g < n_runs; ++g) std::memcpy(qs + 32 * g + 4 * r, src + 4 * g, 4);
}

// Q5_0 / Q5_1 fifth bits: bit g of hb[4 r + j] = bit of element 4 g + j, bit 4 + g = of 16 + 4 g + j.
inline void put_fifth_bits(std::uint8_t* hb, const std::uint8_t* qh_bytes, std::size_t r) {
    std::uint32_t qh;
    std::memcpy(&qh, qh_bytes, 4);
    for (std::size_t g = 0; g < 4; ++g) {
        for (std::size_t j = 0; j < 4; ++j) {
            hb[4 * r + j] |= static_cast<std::uint8_t>(((qh >> (4 * g + j)) & 1) << g);
            hb[4 * r + j] |= static_cast<std::uint8_t>(((qh >> (16 + 4 * g + j)) & 1) << (4 + g));
        }
    }
}

// Q4_K / Q5_K: scales and mins decoded to bytes, the qs runs of each 64-value pair of sub-blocks.
template <class P, class B>
void put_k4(P& p, const B& b, std::size_t r) {
    p.d[r] = b.d;
    p.dmin[r] = b.dmin;
    for (int j = 0; j < 8; ++j) {
        std::uint8_t sc, mn;
        k_scale_min(j, b.scales, sc, mn);
        p.sc[j][r] = sc;
        p.mn[j / 2][2 * r + j % 2] = mn;
    }
    for (std::size_t k = 0; k < 4; ++k) put_runs(p.qs + 256 * k, b.qs + 32 * k, 8, r);
}

// Q2_K / Q3_K: the 64 qs bytes as two 32-byte halves of runs.
template <class P, class B>
void put_2bit_runs(P& p, const B& b, std::size_t r) {
    for (std::size_t c = 0; c < 2; ++c) {
        for (std::size_t g = 0; g < 8; ++g) std::memcpy(p.qs[c][g] + 4 * r, b.qs + 32 * c + 4 * g, 4);
    }
}

}  // namespace

void pack_groups(ggml_type type, const void* data, std::size_t row_bytes, std::size_t n_out, std::size_t nb,
                 std::size_t g0, std::size_t g1, void* dst) noexcept {
    const auto run = [&]<class P, class B>(auto&& f) { pack_each<P, B>(data, row_bytes, n_out, nb, g0, g1, dst, f); };
    switch (type) {
        case ggml_type::q4_0:
            return run.operator()<packed_q4_0, block_q4_0>([](packed_q4_0& p, const block_q4_0& b, std::size_t r) {
                p.d[r] = b.d;
                put_runs(p.qs, b.qs, 4, r);
            });
        case ggml_type::iq4_nl:  // Q4_0's layout, the nibbles index the codebook
            return run.operator()<packed_q4_0, block_iq4_nl>([](packed_q4_0& p, const block_iq4_nl& b, std::size_t r) {
                p.d[r] = b.d;
                put_runs(p.qs, b.qs, 4, r);
            });
        case ggml_type::q4_1:
            return run.operator()<packed_q4_1, block_q4_1>([](packed_q4_1& p, const block_q4_1& b, std::size_t r) {
                p.d[r] = b.d;
                p.m[r] = b.m;
                put_runs(p.qs, b.qs, 4, r);
            });
        case ggml_type::q5_0:
            return run.operator()<packed_q5_0, block_q5_0>([](packed_q5_0& p, const block_q5_0& b, std::size_t r) {
                p.d[r] = b.d;
                put_runs(p.qs, b.qs, 4, r);
                put_fifth_bits(p.hb, b.qh, r);
            });
        case ggml_type::q5_1:
            return run.operator()<packed_q5_1, block_q5_1>([](packed_q5_1& p, const block_q5_1& b, std::size_t r) {
                p.d[r] = b.d;
                p.m[r] = b.m;
                put_runs(p.qs, b.qs, 4, r);
                put_fifth_bits(p.hb, b.qh, r);
            });
        case ggml_type::q8_0:
            return run.operator()<packed_q8_0, block_q8_0>([](packed_q8_0& p, const block_q8_0& b, std::size_t r) {
                p.d[r] = b.d;
                put_runs(reinterpret_cast<std::uint8_t*>(p.qs), reinterpret_cast<const std::uint8_t*>(b.qs), 8, r);
            });
        case ggml_type::q4_k:
            return run.operator()<packed_q4_k, block_q4_k>([](packed_q4_k& p, const block_q4_k& b, std::size_t r) { put_k4(p, b, r); });
        case ggml_type::q5_k:
            return run.operator()<packed_q5_k, block_q5_k>([](packed_q5_k& p, const block_q5_k& b, std::size_t r) {
                put_k4(p, b, r);
                put_runs(p.qh, b.qh, 8, r);
            });
        case ggml_type::q6_k:
            return run.operator()<packed_q6_k, block_q6_k>([](packed_q6_k& p, const block_q6_k& b, std::size_t r) {
                p.d[r] = b.d;
                for (std::size_t m = 0; m < 8; ++m) {
                    p.scp[m][2 * r] = b.scales[2 * m];
                    p.scp[m][2 * r + 1] = b.scales[2 * m + 1];
                }
                for (std::size_t c = 0; c < 2; ++c) {
                    for (std::size_t g = 0; g < 8; ++g) {
                        for (std::size_t h = 0; h < 2; ++h) std::memcpy(p.ql[c][h][g] + 4 * r, b.ql + 64 * c + 32 * h + 4 * g, 4);
                        std::memcpy(p.qh[c][g] + 4 * r, b.qh + 32 * c + 4 * g, 4);
                    }
                }
            });
        case ggml_type::q3_k:
            return run.operator()<packed_q3_k, block_q3_k>([](packed_q3_k& p, const block_q3_k& b, std::size_t r) {
                p.d[r] = b.d;
                std::int8_t sc[16];
                q3_k_scales(b.scales, sc);
                for (std::size_t m = 0; m < 8; ++m) {
                    p.scp[m][2 * r] = static_cast<std::int8_t>(sc[2 * m] - 32);
                    p.scp[m][2 * r + 1] = static_cast<std::int8_t>(sc[2 * m + 1] - 32);
                }
                put_2bit_runs(p, b, r);
                for (std::size_t g = 0; g < 8; ++g) std::memcpy(p.hm[g] + 4 * r, b.hmask + 4 * g, 4);
            });
        case ggml_type::q2_k:
            return run.operator()<packed_q2_k, block_q2_k>([](packed_q2_k& p, const block_q2_k& b, std::size_t r) {
                p.d[r] = b.d;
                p.dmin[r] = b.dmin;
                for (std::size_t m = 0; m < 8; ++m) {
                    p.scp[m][2 * r] = b.scales[2 * m];
                    p.scp[m][2 * r + 1] = b.scales[2 * m + 1];
                }
                put_2bit_runs(p, b, r);
            });
        case ggml_type::iq4_xs:
            return run.operator()<packed_iq4_xs, block_iq4_xs>([](packed_iq4_xs& p, const block_iq4_xs& b, std::size_t r) {
                p.d[r] = b.d;
                for (int j = 0; j < 8; ++j) {
                    p.sc[j][r] = static_cast<std::int8_t>(iq4_xs_scale(b, j));
                    put_runs(p.qs + 128 * j, b.qs + 16 * j, 4, r);
                }
            });
        default: return;
    }
}

}  // namespace sluice::kernels
