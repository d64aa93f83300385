// Prompt processing and generation speed on SmolLM2-135M-shaped models (n_embd 576,
// 30 layers, 9 heads / 3 KV heads, ff 1536, vocab 49152, tied embeddings) with
// random weights quantised by sluice itself to Q8_0 and Q4_0.
//
//   build/bench/engine_bench [--threads N] [--prompt 512] [--gen 128] [--reps 3] [--exact 1] [--invariant 1]
// (--exact 1: float activations, the alternative to 8-bit activation quantisation;
//  --invariant 1: the server's batch-invariant matmul policy, integer dots for every row)
//
// Reports, like llama-bench: ppN (one batch of N prompt tokens from an empty context)
// and tgN (N single-token decodes from an empty context), plus tgN after the prompt, and
// the aggregate rate of 8 sequences decoding in one batch (the server's batch-invariant path).
// Baselines measured in the same run: the memory read bandwidth (generation reads every
// weight once per token, so bandwidth / model bytes bounds tokens/s) and OpenBLAS sgemm
// throughput on the FFN shape (prompt processing is compute-bound).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "sluice/engine/kv_cache.hpp"
#include "sluice/engine/transformer.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/model/gguf_file.hpp"
#include "support/synthetic_model.hpp"

namespace {

using namespace sluice;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

double read_bandwidth_gbs(std::size_t bytes, thread_pool& pool) {
    std::vector<std::uint64_t> buf(bytes / 8, 1);
    std::vector<std::uint64_t> partial(pool.size() * 8);
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        const auto t0 = clock_type::now();
        const std::size_t chunk = buf.size() / pool.size();
        pool.run(pool.size(), [&](std::size_t i) {
            std::uint64_t s = 0;
            const std::uint64_t* p = buf.data() + i * chunk;
            for (std::size_t k = 0; k < chunk; ++k) s += p[k];
            partial[i * 8] = s;
        });
        best = std::max(best, static_cast<double>(bytes) / seconds_since(t0) / 1e9);
    }
    return best;
}

double sgemm_gflops(int m, int n, int k, thread_pool& pool) {
    openblas_set_num_threads(1);
    std::vector<float> a(static_cast<std::size_t>(m) * k, 0.01f), b(static_cast<std::size_t>(n) * k, 0.02f),
        c(static_cast<std::size_t>(m) * n);
    const int tile = 32;
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = clock_type::now();
        pool.run(static_cast<std::size_t>((n + tile - 1) / tile), [&](std::size_t t) {
            const int r0 = static_cast<int>(t) * tile, rows = std::min(tile, n - r0);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, rows, k, 1.0f, a.data(), k,
                        b.data() + static_cast<std::size_t>(r0) * k, k, 0.0f, c.data() + r0, n);
        });
        best = std::max(best, 2.0 * m * n * k / seconds_since(t0) / 1e9);
    }
    return best;
}

struct result {
    double pp = 0;        // prompt tokens/s
    double tg = 0;        // generation tokens/s from an empty context (llama-bench's tg)
    double tg_after = 0;  // generation tokens/s after the prompt
    double tg_batch = 0;  // aggregate tokens/s of k_batch sequences decoding together (the server's steps)
};
constexpr std::size_t k_batch = 8;

engine::matmul_policy g_policy = engine::matmul_policy::fastest;

// k_batch sequences, one token each per step, through the scheduler's batch-invariant
// path and a block KV cache: n_gen steps from position 0.
double batched_decode(const engine::llm_model& m, std::size_t n_gen, thread_pool& pool) {
    engine::transformer tf(m, pool, 512, engine::matmul_policy::batch_invariant);
    const std::size_t bs = 16, per_seq = (n_gen + bs) / bs;
    engine::kv_cache cache(m, engine::kv_blocks{k_batch * per_seq, bs});
    std::vector<std::vector<std::uint32_t>> tables(k_batch);
    std::vector<engine::token_id> tokens(k_batch);
    for (std::size_t s = 0; s < k_batch; ++s) {
        for (std::size_t b = 0; b < per_seq; ++b) tables[s].push_back(static_cast<std::uint32_t>(s * per_seq + b));
        tokens[s] = static_cast<engine::token_id>(100 + s);
    }
    std::vector<float> logits(k_batch * m.n_vocab());
    std::vector<engine::batch_sequence> batch(k_batch);
    const auto t0 = clock_type::now();
    for (std::size_t step = 0; step < n_gen; ++step) {
        for (std::size_t s = 0; s < k_batch; ++s) batch[s] = {std::span<const engine::token_id>(&tokens[s], 1), step, tables[s], 1};
        tf.forward_batch(batch, cache, logits.data());
        for (std::size_t s = 0; s < k_batch; ++s) {
            const float* row = logits.data() + s * m.n_vocab();
            tokens[s] = static_cast<engine::token_id>(std::max_element(row, row + m.n_vocab()) - row);
        }
    }
    return static_cast<double>(k_batch * n_gen) / seconds_since(t0);
}

result run_model(kernels::ggml_type type, std::size_t n_prompt, std::size_t n_gen, int reps, thread_pool& pool,
                 std::size_t& model_bytes) {
    const test::model_shape shape;
    const auto bytes = test::synthetic_llama(shape, type);
    model_bytes = bytes.size();
    const auto file = model::gguf_file::parse(bytes, "synthetic");
    const auto m = engine::llm_model::load(file);
    engine::transformer tf(*m, pool, 512, g_policy);
    engine::kv_cache cache(*m, n_prompt + n_gen + 8);
    std::vector<engine::token_id> prompt(n_prompt);
    for (std::size_t i = 0; i < n_prompt; ++i) prompt[i] = static_cast<engine::token_id>((i * 7919) % shape.n_vocab);
    std::vector<float> logits;
    auto generate = [&](std::size_t n) {
        const auto t0 = clock_type::now();
        for (std::size_t i = 0; i < n; ++i) {
            const auto next = static_cast<engine::token_id>(std::max_element(logits.begin(), logits.end()) - logits.begin());
            const engine::token_id one[1] = {next};
            tf.forward(one, cache, logits);
        }
        return static_cast<double>(n) / seconds_since(t0);
    };
    result best;
    for (int rep = 0; rep < reps; ++rep) {
        cache.clear();
        const auto t0 = clock_type::now();
        tf.forward(prompt, cache, logits);
        best.pp = std::max(best.pp, static_cast<double>(n_prompt) / seconds_since(t0));
        best.tg_after = std::max(best.tg_after, generate(n_gen));
        cache.clear();
        tf.forward(std::span<const engine::token_id>(prompt).first(1), cache, logits);
        best.tg = std::max(best.tg, generate(n_gen));
        best.tg_batch = std::max(best.tg_batch, batched_decode(*m, n_gen, pool));
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t threads = 2, n_prompt = 512, n_gen = 128;
    int reps = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const std::size_t v = std::stoul(argv[i + 1]);
        if (a == "--threads") threads = v;
        else if (a == "--prompt") n_prompt = v;
        else if (a == "--gen") n_gen = v;
        else if (a == "--reps") reps = static_cast<int>(v);
        else if (a == "--exact") kernels::set_exact_activations(v != 0);
        else if (a == "--invariant") g_policy = v != 0 ? engine::matmul_policy::batch_invariant : engine::matmul_policy::fastest;
    }
    thread_pool pool(threads);
    std::printf("engine_bench: SmolLM2-135M shape, %zu threads, best of %d\n", pool.size(), reps);
    const double bw = read_bandwidth_gbs(std::size_t{256} << 20, pool);
    const double gf = sgemm_gflops(static_cast<int>(n_prompt), 1536, 576, pool);
    std::printf("baseline: memory read %.1f GB/s, sgemm [%zu x 576] x [576 x 1536] %.1f GFLOP/s\n", bw, n_prompt, gf);
    const double params = 134.5e6;  // parameters of this shape (tied embeddings)
    for (auto type : {kernels::ggml_type::q4_0, kernels::ggml_type::q8_0}) {
        std::size_t model_bytes = 0;
        const auto r = run_model(type, n_prompt, n_gen, reps, pool, model_bytes);
        const double roofline_tg = bw * 1e9 / static_cast<double>(model_bytes);
        const double pp_gflops = r.pp * 2.0 * params / 1e9;
        std::printf("%-5s %.1f MB | pp%zu %6.1f tok/s (%.0f GFLOP/s, %.0f%% of sgemm) | tg%zu %6.1f tok/s (%.0f%% of the "
                    "%.0f tok/s bandwidth bound) | tg%zu after pp%zu %6.1f tok/s | %zu x tg%zu batched %6.1f tok/s (%.2fx tg)\n",
                    std::string(kernels::name_of(type)).c_str(), model_bytes / 1e6, n_prompt, r.pp, pp_gflops,
                    100.0 * pp_gflops / gf, n_gen, r.tg, 100.0 * r.tg / roofline_tg, roofline_tg, n_gen, n_prompt, r.tg_after, k_batch, n_gen,
                    r.tg_batch, r.tg_batch / r.tg);
    }
    return 0;
}
