// Kernel-level prefill benchmark: Y [n_tok x n_out] = X W^T for the SmolLM2-135M FFN shapes
// one thread, best of many repetitions (the minimum filters out a shared machine's
// preemptions). For each weight type: kernels::matmul (the integer GEMM for the types it
// covers, else dequantised tiles + sgemm) with load-time packed weights, and plain sgemm on
// already-float weights (the old prefill path's floor: it also dequantised W per call).
//
// (256-wide types: 512 instead of 576 inputs)
//   build/bench/gemm_bench [--tok 512] [--reps 15] [--threads 1] [--types q4_0,q5_k,...]
// (default: every quantised type)
#include <cblas.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/matmul.hpp"
#include "sluice/kernels/vec_dot.hpp"
#include "support/random_blocks.hpp"

namespace {

using namespace sluice;
using kernels::ggml_type;
using clock_type = std::chrono::steady_clock;

template <class F>
double best_seconds(int reps, F&& f) {
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = clock_type::now();
        f();
        best = std::min(best, std::chrono::duration<double>(clock_type::now() - t0).count());
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t n_tok = 512, threads = 1;
    int reps = 15;
    std::vector<ggml_type> types = {ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1, ggml_type::q8_0, ggml_type::q2_k,
                                    ggml_type::q3_k, ggml_type::q4_k, ggml_type::q5_k, ggml_type::q6_k, ggml_type::iq4_nl, ggml_type::iq4_xs};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--types") {
            const std::string list = std::string(",") + argv[i + 1] + ",";
            std::erase_if(types, [&](ggml_type t) {
                std::string name(kernels::name_of(t));
                for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                return list.find("," + name + ",") == std::string::npos;
            });
        }
        if (a == "--tok") n_tok = std::stoul(argv[i + 1]);
        else if (a == "--reps") reps = std::stoi(argv[i + 1]);
        else if (a == "--threads") threads = std::stoul(argv[i + 1]);
    }
    openblas_set_num_threads(1);
    thread_pool pool(threads);
    std::printf("gemm_bench: %zu tokens, %zu thread(s), best of %d; AVX-VNNI %s\n", n_tok, pool.size(), reps,
                kernels::cpu().avx_vnni ? "yes" : "no");
    std::mt19937 rng(3);
    const struct { std::size_t n_in, n_out; } shapes[] = {{576, 1536}, {1536, 576}};
    for (const auto type : types) {
        for (auto s : shapes) try {
            if (kernels::traits_of(type).block_size == 256 && s.n_in % 256 != 0) s.n_in = 512;  // K-quant rows: 256-multiples
            std::vector<std::byte> w;
            for (std::size_t r = 0; r < s.n_out; ++r) {
                const auto row = test::random_row(type, s.n_in, rng);
                w.insert(w.end(), row.begin(), row.end());
            }
            auto wm = kernels::make_weight_matrix(type, w.data(), s.n_in, s.n_out);
            std::vector<std::byte> packed(kernels::packed_bytes(wm));
            if (!packed.empty()) {
                kernels::pack_weights(wm, packed.data());
                wm.packed = packed.data();
            }
            std::vector<float> x(n_tok * s.n_in), y(n_tok * s.n_out), wf(s.n_in * s.n_out);
            std::normal_distribution<float> nd(0.0f, 1.0f);
            for (auto& v : x) v = nd(rng);
            for (std::size_t r = 0; r < s.n_out; ++r) kernels::dequantize_row(type, w.data() + r * wm.row_bytes, wf.data() + r * s.n_in, s.n_in);
            const double t_mm = best_seconds(reps, [&] { kernels::matmul(wm, x.data(), n_tok, y.data(), pool); });
            const double t_rows = best_seconds(reps, [&] { kernels::matmul_rows(wm, x.data(), n_tok, y.data(), pool); });
            const double t_sg = best_seconds(reps, [&] {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n_tok), static_cast<int>(s.n_out),
                            static_cast<int>(s.n_in), 1.0f, x.data(), static_cast<int>(s.n_in), wf.data(), static_cast<int>(s.n_in), 0.0f,
                            y.data(), static_cast<int>(s.n_out));
            });
            const double macs = static_cast<double>(n_tok) * s.n_in * s.n_out;
            std::fflush(stdout);
            std::printf("%-6s [%4zu -> %4zu] matmul %7.2f ms (%5.1f GMAC/s, %.3f ns per 32-block x token) | matmul_rows %7.2f ms | "
                        "float sgemm %7.2f ms (%5.1f GMAC/s)\n",
                        std::string(kernels::name_of(type)).c_str(), s.n_in, s.n_out, t_mm * 1e3, macs / t_mm / 1e9,
                        t_mm / (macs / 32) * 1e9, t_rows * 1e3, t_sg * 1e3, macs / t_sg / 1e9);
        } catch (const std::exception& e) {  // a type an older build cannot compute with
            std::printf("%-6s %s\n", std::string(kernels::name_of(type)).c_str(), e.what());
        }
    }
    return 0;
}
