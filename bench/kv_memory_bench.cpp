// KV + recurrent-state bytes per sequence at 4k and 32k context, for a gemma3-shaped model
// (sliding-window layers keeping only their window) and a qwen35-shaped one (DeltaNet
// layers keeping a fixed state), each against the same model with every layer global
// (full attention keeping every position).
//
//   build/bench/kv_memory_bench [--forward 1]
//
// Shapes (the KV and state shapes are the real ones; the projections are shrunk to
// n_embd 64 so filling a context with real forward passes stays affordable):
//   gemma3-4B-like: 34 layers, 5 of every 6 sliding (window 1024), 4 KV heads x 256;
//   qwen35-like: 32 layers, every 4th full attention with 2 KV heads x 256, the others gated
//   DeltaNet (conv 4, 16 key heads x 128, 32 value heads x 128).
// For each, three figures per context:
//   accounted: the scheduler's own pools for one sequence of that context (parallel 1, no
//     prefix cache): main blocks x bytes + sliding blocks x bytes + one recurrent-state slot;
//   filled (CLI): resident bytes the single-sequence cache commits once every row the
//     forward pass writes for positions [0, n_ctx) has been written, in that order, through
//     kv_cache::locate (the sliding ring overwrites itself) -- measured, no compute;
//   filled (server, --forward 1, 4k only): resident bytes the scheduler commits running one
//     real sequence of 4095 prompt tokens + 1 generated (includes its scratch buffers).
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include "sluice/engine/kv_cache.hpp"
#include "sluice/engine/scheduler.hpp"
#include "sluice/engine/vocab.hpp"
#include "sluice/model/gguf_file.hpp"
#include "support/synthetic_model.hpp"

namespace {

using namespace sluice;
using kernels::ggml_type;

constexpr std::uint32_t k_vocab = 300;

std::size_t resident_bytes() {
    std::ifstream f("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::vector<std::byte> vocab_bytes() {
    std::vector<std::string> toks;
    std::vector<float> scores;
    std::vector<std::int32_t> types;
    for (std::uint32_t i = 0; i < k_vocab; ++i) {
        toks.push_back(i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : "p" + std::to_string(i));
        scores.push_back(0);
        types.push_back(i == 0 ? 2 : i < 3 ? 3 : 1);
    }
    model::gguf_writer w;
    w.add_string("general.architecture", "llama");
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_strings("tokenizer.ggml.tokens", toks);
    w.add_f32s("tokenizer.ggml.scores", scores);
    w.add_i32s("tokenizer.ggml.token_type", types);
    w.add_u32("tokenizer.ggml.bos_token_id", 1);
    w.add_u32("tokenizer.ggml.eos_token_id", 2);
    return w.bytes();
}

struct model_case {
    std::string name;
    std::vector<std::byte> bytes;
};

std::vector<model_case> cases() {
    const test::model_shape g{64, 34, 4, 4, 64, k_vocab};
    test::qwen35_shape q;
    q.base = {64, 32, 2, 2, 64, k_vocab};
    q.head_dim = 256;
    q.head_k = 128;
    q.n_k_heads = 16;
    q.n_v_heads = 32;
    auto q_global = q;
    q_global.interval = 1;
    return {{"gemma3-4B-like, 5/6 sliding (window 1024)", test::synthetic_gemma3(g, ggml_type::q8_0, 1024, 6, 42, 256)},
            {"  same, every layer global", test::synthetic_gemma3(g, ggml_type::q8_0, 0, 6, 42, 256)},
            {"qwen35-like, 3/4 DeltaNet", test::synthetic_qwen35(q, ggml_type::q8_0)},
            {"  same, every layer global", test::synthetic_qwen35(q_global, ggml_type::q8_0)}};
}

engine::scheduler_config one_sequence(std::size_t n_ctx) {
    engine::scheduler_config c;
    c.parallel = 1;
    c.queue_size = 1;
    c.n_ctx = n_ctx;
    c.cache_bytes = 0;
    c.threads = 2;
    c.prefill_chunk = 512;
    return c;
}

std::size_t accounted(const engine::llm_model& m, const engine::vocab& v, std::size_t n_ctx) {
    const engine::scheduler s(m, v, one_sequence(n_ctx));
    const auto l = s.current_load();
    using engine::kv_cache;
    using engine::kv_layers;
    const bool split = l.swa_blocks > 0;
    return l.kv_blocks * kv_cache::block_bytes(m, 16, engine::kv_precision::f16, split ? kv_layers::full : kv_layers::all) +
           l.swa_blocks * kv_cache::block_bytes(m, 16, engine::kv_precision::f16, kv_layers::sliding) + engine::recurrent_state::slot_bytes(m);
}

// Writes every K and V row the forward pass writes for positions [0, n_ctx), as it does.
std::size_t filled_cli(const engine::llm_model& m, std::size_t n_ctx) {
    const std::size_t before = resident_bytes();
    engine::kv_cache cache(m, n_ctx);
    for (std::size_t p = 0; p < n_ctx; ++p) {
        for (std::size_t l = 0; l < m.layers().size(); ++l) {
            const auto& w = m.layers()[l];
            if (w.recurrent || w.kv_source != l) continue;
            const auto [b, o] = cache.locate(l, cache.single_table(), cache.single_swa_table(), p);
            std::memset(cache.k(l, b, o), 1, cache.k_stride(l) * 2);
            std::memset(cache.v(l, b, o), 1, cache.v_stride(l) * 2);
        }
    }
    return resident_bytes() - before;
}

std::size_t filled_server(const engine::llm_model& m, const engine::vocab& v, std::size_t n_ctx) {
    const std::size_t before = resident_bytes();
    engine::scheduler s(m, v, one_sequence(n_ctx));
    engine::generation_job job;
    for (std::size_t i = 0; i + 1 < n_ctx; ++i) job.request.prompt.push_back(static_cast<engine::token_id>(3 + (i * 7919) % (k_vocab - 3)));
    job.request.max_tokens = 1;
    job.request.ignore_eos = true;
    job.request.sampling.temperature = 0;
    std::promise<void> done;
    job.on_done = [&](const engine::generation_result&, const std::string& err) {
        if (!err.empty()) std::fprintf(stderr, "kv_memory_bench: %s\n", err.c_str());
        done.set_value();
    };
    if (s.submit(std::move(job)) != engine::scheduler::admission::accepted) return 0;
    done.get_future().wait();
    return resident_bytes() - before;
}

double mib(std::size_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); }

}  // namespace

int main(int argc, char** argv) {
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);  // every cache array on fresh pages, so residency shows what it touched
    bool forward = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--forward") forward = std::string(argv[i + 1]) != "0";
    }
    const auto vb = vocab_bytes();
    const auto vf = model::gguf_file::parse(vb);
    const auto voc = engine::vocab::from_gguf(vf);
    std::printf("%-44s %6s %14s %14s %14s\n", "model", "n_ctx", "accounted MiB", "filled CLI MiB", "filled srv MiB");
    for (const auto& c : cases()) {
        const auto f = model::gguf_file::parse(c.bytes);
        const auto m = engine::llm_model::load(f);
        for (const std::size_t n_ctx : {std::size_t{4096}, std::size_t{32768}}) {
            const std::size_t acc = accounted(*m, voc, n_ctx), cli = filled_cli(*m, n_ctx);
            std::string srv = "-";
            if (forward && n_ctx == 4096) {
                const auto t0 = std::chrono::steady_clock::now();
                char buf[64];
                const std::size_t bytes = filled_server(*m, voc, n_ctx);
                std::snprintf(buf, sizeof buf, "%.1f (%.0fs)", mib(bytes),
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
                srv = buf;
            }
            std::printf("%-44s %6zu %14.1f %14.1f %14s\n", c.name.c_str(), n_ctx, mib(acc), mib(cli), srv.c_str());
            std::fflush(stdout);
        }
    }
    return 0;
}
