// Prompt processing and generation speed on SmolLM2-135M-shaped models (n_embd 576,
// 30 layers, 9 heads / 3 KV heads, ff 1536, vocab 49152, tied embeddings) with
// random weights quantised by sluice itself to Q8_0 and Q4_0, and a Q4_K_M-like mix
// (llama.cpp's choice per tensor: Q6_K for the output and for attn_v / ffn_down in the
// layers llama.cpp gives more bits, Q4_K elsewhere; rows not a multiple of 256 fall back to
// Q5_0 / Q8_0 as llama.cpp does; random well-formed blocks).
//
//   build/bench/engine_bench [--threads N] [--prompt 512] [--gen 128] [--reps 3] [--exact 1] [--invariant 1]
//                            [--shape smollm2|1b] [--types q4_0,q8_0,q4_k_m,q5_k,iq4_xs,...,moe] [--clock cpu]
// (--exact 1: float activations, the alternative to 8-bit activation quantisation;
//  --invariant 1: the server's batch-invariant matmul policy, integer dots for every row;
//  --shape 1b: Llama-3.2-1B's shape, n_embd 2048, 16 layers, 32 heads / 8 KV, ff 8192,
//  vocab 128256, tied; its weights are cycled from a pool of random rows to build fast)
//
// `moe`: a Qwen3-30B-A3B-shaped layer stack scaled down (qwen3moe, Q8_0: 128 experts, 8 used,
// expert ff = 0.375 n_embd, 16 heads / 2 KV heads, q width 2 n_embd; n_embd 256, 8 layers,
// vocab 32000), with the expert weight bytes a decoded token actually reads against the
// dense equivalent that reads every expert.
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
#include <cctype>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "sluice/engine/kv_cache.hpp"
#include "sluice/engine/transformer.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/model/gguf_file.hpp"
#include "sluice/kernels/fp16.hpp"
#include "support/random_blocks.hpp"
#include "support/synthetic_model.hpp"

namespace {

using namespace sluice;
// --clock cpu: the process's CPU time instead of wall time. With --threads 1 (no pool
// workers, so no spinning) that is the compute time, which other processes sharing the
// cores barely move: the measure for a machine shared with compiling neighbours.
bool g_cpu_clock = false;
struct clock_type {
    using time_point = double;
    static double now() {
        if (g_cpu_clock) {
            timespec ts{};
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
            return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
        }
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }
};

double seconds_since(clock_type::time_point t0) { return clock_type::now() - t0; }

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

bool g_big = false;  // --shape 1b

test::model_shape bench_shape() {
    if (g_big) return {2048, 16, 32, 8, 8192, 128256};
    return {};
}

double shape_params(const test::model_shape& s) {
    const double hd = static_cast<double>(s.n_embd) / s.n_head, q = hd * s.n_head, kv = hd * s.n_head_kv;
    return s.n_layer * (s.n_embd * (2 * q + 2 * kv) + 3.0 * s.n_embd * s.n_ff) + static_cast<double>(s.n_vocab) * s.n_embd;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers and every third between.
bool more_bits(std::uint32_t i, std::uint32_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// A llama model of `shape` whose tensor types come from type_of(name, layer, n_in); rows are
// cycled from a pool of 61 random rows per (type, width) (speed depends on shapes and types only).
std::vector<std::byte> pooled_llama(const test::model_shape& s,
                                    const std::function<kernels::ggml_type(const std::string&, std::uint32_t, std::uint32_t)>& type_of) {
    using kernels::ggml_type;
    std::mt19937 rng(42);
    model::gguf_writer w;
    const std::string arch = "llama";
    test::write_shape_metadata(w, s, arch);
    std::map<std::pair<ggml_type, std::size_t>, std::vector<std::vector<std::byte>>> pools;
    auto matrix = [&](ggml_type t, std::size_t cols, std::size_t rows) {
        auto& pool = pools[{t, cols}];
        if (pool.empty()) {
            for (int k = 0; k < 61; ++k) {
                if (t == ggml_type::q4_0 || t == ggml_type::q8_0) {
                    pool.push_back(test::random_matrix(t, cols, 1, rng));
                } else {
                    // Random bits, then block scales that keep the weights near N(0, 0.02) as in a
                    // trained model (random scales would overflow the activations, and the
                    // resulting NaNs and denormals would time something else).
                    auto row = test::random_row(t, cols, rng);
                    const auto tr = kernels::traits_of(t);
                    std::vector<std::pair<std::size_t, float>> halves;  // (offset in block, value)
                    switch (t) {
                        case ggml_type::q4_k: halves = {{0, 8e-5f}, {2, 8e-5f}}; break;
                        case ggml_type::q5_k: halves = {{0, 2e-5f}, {2, 2e-5f}}; break;
                        case ggml_type::q6_k: halves = {{208, 2e-5f}}; break;
                        case ggml_type::q5_0: halves = {{0, 2.5e-3f}}; break;
                        case ggml_type::q4_1: halves = {{0, 5e-3f}, {2, -3.75e-2f}}; break;
                        case ggml_type::q5_1: halves = {{0, 2.5e-3f}, {2, -3.9e-2f}}; break;
                        case ggml_type::q2_k: halves = {{80, 1e-3f}, {82, 1e-3f}}; break;
                        case ggml_type::q3_k: halves = {{108, 2e-4f}}; break;
                        case ggml_type::iq4_nl: halves = {{0, 2e-4f}}; break;
                        case ggml_type::iq4_xs: halves = {{0, 5e-6f}}; break;
                        default: break;
                    }
                    for (std::size_t b = 0; b < row.size() / tr.type_size; ++b) {
                        for (const auto& [off, v] : halves) {
                            const std::uint16_t h = kernels::fp32_to_fp16(v);
                            std::memcpy(row.data() + b * tr.type_size + off, &h, 2);
                        }
                    }
                    pool.push_back(std::move(row));
                }
            }
        }
        std::vector<std::byte> out;
        out.reserve(rows * pool[0].size());
        for (std::size_t r = 0; r < rows; ++r) out.insert(out.end(), pool[r % pool.size()].begin(), pool[r % pool.size()].end());
        return out;
    };
    std::vector<std::byte> ones(s.n_embd * 4);
    for (std::size_t i = 0; i < s.n_embd; ++i) {
        const float one = 1.0f;
        std::memcpy(ones.data() + 4 * i, &one, 4);
    }
    const std::uint32_t hd = s.n_embd / s.n_head;
    auto add = [&](const std::string& name, std::uint32_t layer, std::uint32_t cols, std::uint32_t rows) {
        const ggml_type t = type_of(name, layer, cols);
        w.add_tensor(name, t, {cols, rows}, matrix(t, cols, rows));
    };
    add("token_embd.weight", 0, s.n_embd, s.n_vocab);
    w.add_tensor("output_norm.weight", ggml_type::f32, {s.n_embd}, ones);
    for (std::uint32_t l = 0; l < s.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        w.add_tensor(p + "attn_norm.weight", ggml_type::f32, {s.n_embd}, ones);
        w.add_tensor(p + "ffn_norm.weight", ggml_type::f32, {s.n_embd}, ones);
        add(p + "attn_q.weight", l, s.n_embd, s.n_head * hd);
        add(p + "attn_k.weight", l, s.n_embd, s.n_head_kv * hd);
        add(p + "attn_v.weight", l, s.n_embd, s.n_head_kv * hd);
        add(p + "attn_output.weight", l, s.n_head * hd, s.n_embd);
        add(p + "ffn_gate.weight", l, s.n_embd, s.n_ff);
        add(p + "ffn_up.weight", l, s.n_embd, s.n_ff);
        add(p + "ffn_down.weight", l, s.n_ff, s.n_embd);
    }
    return w.bytes();
}

// A type by its lower-case name ("q5_k"), or nullopt.
std::optional<kernels::ggml_type> type_named(const std::string& name) {
    for (std::uint32_t id = 0; id < 40; ++id) {
        const auto t = kernels::traits_of(id);
        if (!t) continue;
        std::string lower(t->name);
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == name) return static_cast<kernels::ggml_type>(id);
    }
    return std::nullopt;
}

// The model for a bench entry: "q4_0", "q8_0", "q4_k_m", or any quantised type's name (every
// matrix of that type; rows that are not a multiple of its block fall back to Q8_0).
std::vector<std::byte> bench_model(const std::string& kind) {
    using kernels::ggml_type;
    const auto shape = bench_shape();
    if (kind == "q4_k_m") {
        return pooled_llama(shape, [&](const std::string& name, std::uint32_t layer, std::uint32_t n_in) {
            const bool embd = name == "token_embd.weight";  // tied: also the output
            const bool more = (name.find("attn_v") != std::string::npos || name.find("ffn_down") != std::string::npos) &&
                              more_bits(layer, shape.n_layer);
            const bool six = embd || more;
            if (n_in % 256 != 0) return six ? ggml_type::q8_0 : ggml_type::q5_0;  // llama.cpp's fallbacks
            return six ? ggml_type::q6_k : ggml_type::q4_k;
        });
    }
    if (kind != "q4_0" && kind != "q8_0") {
        const auto t = type_named(kind);
        if (!t) throw std::runtime_error("unknown --types entry " + kind);
        return pooled_llama(shape, [&](const std::string&, std::uint32_t, std::uint32_t n_in) {
            return n_in % kernels::traits_of(*t).block_size == 0 ? *t : ggml_type::q8_0;
        });
    }
    const ggml_type t = kind == "q8_0" ? ggml_type::q8_0 : ggml_type::q4_0;
    if (g_big) return pooled_llama(shape, [&](const std::string&, std::uint32_t, std::uint32_t) { return t; });
    return test::synthetic_llama(shape, t);
}

result run_model(const std::string& kind, std::size_t n_prompt, std::size_t n_gen, int reps, thread_pool& pool,
                 std::size_t& model_bytes) {
    const auto shape = bench_shape();
    const auto bytes = bench_model(kind);
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

// The mixture-of-experts case: speeds, and expert bytes read per decoded token (measured by
// the transformer) against the dense equivalent's (every expert of every layer).
void run_moe(std::size_t n_prompt, std::size_t n_gen, int reps, thread_pool& pool) {
    test::moe_shape ms;
    ms.base = {256, 8, 16, 2, 768, 32000};
    ms.head_dim = 32;
    ms.n_expert = 128;
    ms.n_used = 8;
    ms.n_ff_exp = 96;
    const auto bytes = test::synthetic_qwen3moe(ms, kernels::ggml_type::q8_0);
    const auto file = model::gguf_file::parse(bytes, "synthetic-moe");
    const auto m = engine::llm_model::load(file);
    engine::transformer tf(*m, pool, 512, g_policy);
    engine::kv_cache cache(*m, n_prompt + n_gen + 8);
    std::vector<engine::token_id> prompt(n_prompt);
    for (std::size_t i = 0; i < n_prompt; ++i) prompt[i] = static_cast<engine::token_id>((i * 7919) % ms.base.n_vocab);
    std::vector<float> logits;
    std::uint64_t all_experts = 0;  // the dense equivalent: every expert of every layer
    for (const auto& l : m->layers()) {
        for (const auto& e : l.experts) all_experts += e.gate.n_out * e.gate.row_bytes + e.up.n_out * e.up.row_bytes + e.down.n_out * e.down.row_bytes;
    }
    result best;
    double read_per_token = 0;
    for (int rep = 0; rep < reps; ++rep) {
        cache.clear();
        auto t0 = clock_type::now();
        tf.forward(prompt, cache, logits);
        best.pp = std::max(best.pp, static_cast<double>(n_prompt) / seconds_since(t0));
        const std::uint64_t before = tf.expert_bytes_read();
        t0 = clock_type::now();
        for (std::size_t i = 0; i < n_gen; ++i) {
            const engine::token_id one[1] = {static_cast<engine::token_id>(std::max_element(logits.begin(), logits.end()) - logits.begin())};
            tf.forward(one, cache, logits);
        }
        best.tg_after = std::max(best.tg_after, static_cast<double>(n_gen) / seconds_since(t0));
        read_per_token = static_cast<double>(tf.expert_bytes_read() - before) / static_cast<double>(n_gen);
        best.tg_batch = std::max(best.tg_batch, batched_decode(*m, n_gen, pool));
    }
    std::printf("moe   %.1f MB (experts %.1f MB) | pp%zu %6.1f tok/s | tg%zu after pp%zu %6.1f tok/s | %zu x tg%zu batched %6.1f tok/s\n"
                "      decode reads %.2f MB of experts per token (%u of %u per layer) vs %.1f MB for the dense equivalent: %.1f%%\n",
                bytes.size() / 1e6, static_cast<double>(all_experts) / 1e6, n_prompt, best.pp, n_gen, n_prompt, best.tg_after, k_batch,
                n_gen, best.tg_batch, read_per_token / 1e6, ms.n_used, ms.n_expert, static_cast<double>(all_experts) / 1e6,
                100.0 * read_per_token / static_cast<double>(all_experts));
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t threads = 2, n_prompt = 512, n_gen = 128;
    int reps = 3;
    std::vector<std::string> kinds = {"q4_0", "q8_0", "q4_k_m", "moe"};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--shape") {
            g_big = std::string(argv[i + 1]) == "1b";
            continue;
        }
        if (a == "--clock") {
            g_cpu_clock = std::string(argv[i + 1]) == "cpu";
            continue;
        }
        if (a == "--types") {
            kinds.clear();
            std::string list = argv[i + 1];
            for (std::size_t pos = 0; pos <= list.size();) {
                const std::size_t comma = std::min(list.find(',', pos), list.size());
                kinds.push_back(list.substr(pos, comma - pos));
                pos = comma + 1;
            }
            continue;
        }
        const std::size_t v = std::stoul(argv[i + 1]);
        if (a == "--threads") threads = v;
        else if (a == "--prompt") n_prompt = v;
        else if (a == "--gen") n_gen = v;
        else if (a == "--reps") reps = static_cast<int>(v);
        else if (a == "--exact") kernels::set_exact_activations(v != 0);
        else if (a == "--invariant") g_policy = v != 0 ? engine::matmul_policy::batch_invariant : engine::matmul_policy::fastest;
    }
    thread_pool pool(threads);
    std::printf("engine_bench: %s shape, %zu threads, best of %d%s\n", g_big ? "Llama-3.2-1B" : "SmolLM2-135M", pool.size(), reps,
                g_cpu_clock ? ", rates per second of process CPU time" : "");
    const double bw = read_bandwidth_gbs(std::size_t{256} << 20, pool);
    const double gf = sgemm_gflops(static_cast<int>(n_prompt), 1536, 576, pool);
    std::printf("baseline: memory read %.1f GB/s, sgemm [%zu x 576] x [576 x 1536] %.1f GFLOP/s\n", bw, n_prompt, gf);
    const double params = shape_params(bench_shape());  // parameters of this shape (tied embeddings)
    for (const auto& kind : kinds) {
        if (kind == "moe") {
            run_moe(n_prompt, n_gen, reps, pool);
            continue;
        }
        std::size_t model_bytes = 0;
        result r;
        try {
            r = run_model(kind, n_prompt, n_gen, reps, pool, model_bytes);
        } catch (const std::exception& e) {  // e.g. a type an older build cannot compute with
            std::printf("%-6s %s\n", kind.c_str(), e.what());
            continue;
        }
        const double roofline_tg = bw * 1e9 / static_cast<double>(model_bytes);
        const double pp_gflops = r.pp * 2.0 * params / 1e9;
        std::printf("%-6s %.1f MB | pp%zu %6.1f tok/s (%.0f GFLOP/s, %.0f%% of sgemm) | tg%zu %6.1f tok/s (%.0f%% of the "
                    "%.0f tok/s bandwidth bound) | tg%zu after pp%zu %6.1f tok/s | %zu x tg%zu batched %6.1f tok/s (%.2fx tg)\n",
                    kind.c_str(), model_bytes / 1e6, n_prompt, r.pp, pp_gflops,
                    100.0 * pp_gflops / gf, n_gen, r.tg, 100.0 * r.tg / roofline_tg, roofline_tg, n_gen, n_prompt, r.tg_after, k_batch, n_gen,
                    r.tg_batch, r.tg_batch / r.tg);
    }
    return 0;
}
