// Per-token time of a greedy stream alone, then with a concurrent stream that samples with
// top_k 0 and asks for top_logprobs 20 (issue 17, item 4): one client's sampling settings
// should not slow everyone else's stream. Prints numbers; not a test.
//
//   sampling_bench MODEL.gguf [tokens=64] [threads=2] [runs=3] [--clock cpu]
//
// --clock cpu: the process's CPU time between a stream's tokens instead of wall time. With
// threads 1 that is the step's latency on an idle core, whatever else the machine runs
// (the scheduler thread waits while the one compute thread works), so the ratios hold on
// a loaded machine; with more threads it is the work per token, not the latency.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <random>
#include <string>
#include <vector>

#include "sluice/engine/generator.hpp"
#include "sluice/engine/scheduler.hpp"
#include "sluice/engine/tokenizer.hpp"

namespace {

using namespace sluice;
bool g_cpu_clock = false;
struct clock_type {  // now() in milliseconds, wall or process CPU time
    static double now() {
        if (g_cpu_clock) {
            timespec ts{};
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
            return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
        }
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }
};

engine::generation_request request(std::size_t n_vocab, bool greedy, int tokens) {
    engine::generation_request r;
    for (std::size_t i = 0; i < 24; ++i) r.prompt.push_back(static_cast<engine::token_id>((i * 7919 + (greedy ? 1 : 2)) % n_vocab));
    r.max_tokens = tokens;
    r.ignore_eos = true;
    if (greedy) {
        r.sampling.temperature = 0;
    } else {
        r.sampling.temperature = 1.0f;
        r.sampling.top_k = 0;
        r.sampling.top_p = 1.0f;
        r.sampling.min_p = 0.0f;
        r.sampling.seed = 7;
        r.top_logprobs = 20;
        r.logprobs = true;
    }
    return r;
}

// Submits a job; the future gives the mean time between its generated tokens (ms).
std::future<double> run(engine::scheduler& s, engine::generation_request r) {
    auto times = std::make_shared<std::vector<double>>();
    auto done = std::make_shared<std::promise<double>>();
    auto fut = done->get_future();
    engine::generation_job job;
    job.request = std::move(r);
    job.on_token = [times](const engine::generated_token&) {
        times->push_back(clock_type::now());
        return true;
    };
    job.on_done = [times, done](const engine::generation_result&, const std::string& err) {
        if (!err.empty()) std::fprintf(stderr, "job failed: %s\n", err.c_str());
        const double ms = times->size() < 2 ? 0 : (times->back() - times->front()) / static_cast<double>(times->size() - 1);
        done->set_value(ms);
    };
    if (s.submit(std::move(job)) != engine::scheduler::admission::accepted) std::abort();
    return fut;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 3 && std::string(argv[argc - 2]) == "--clock") {
        g_cpu_clock = std::string(argv[argc - 1]) == "cpu";
        argc -= 2;
    }
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL.gguf [tokens] [threads] [runs] [--clock cpu|wall]\n", argv[0]);
        return 2;
    }
    const int tokens = argc > 2 ? std::atoi(argv[2]) : 64;
    const std::size_t threads = argc > 3 ? static_cast<std::size_t>(std::atoi(argv[3])) : 2;
    const int runs = argc > 4 ? std::atoi(argv[4]) : 3;
    const auto file = model::gguf_file::open(argv[1]);
    const auto tok = engine::tokenizer::from_gguf(file);
    const auto m = engine::llm_model::load(file);
    engine::scheduler_config cfg;
    cfg.parallel = 2;
    cfg.n_ctx = 256;
    cfg.threads = threads;
    cfg.cache_bytes = 0;
    engine::scheduler s(*m, tok.get_vocab(), cfg);
    const std::size_t n_vocab = m->n_vocab();
    std::printf("model %s, vocabulary %zu, %d tokens per stream, %zu threads, %s clock\n", argv[1], n_vocab, tokens, threads,
                g_cpu_clock ? "process CPU" : "wall");
    {  // The heavy stream's per-token sampling alone (pick_token on one thread), on random logits.
        std::mt19937 gen(1);
        std::vector<float> base(n_vocab), row;
        for (auto& x : base) x = std::normal_distribution<float>(0.0f, 3.0f)(gen);
        const auto heavy = request(n_vocab, false, tokens);
        engine::sampler smp(heavy.sampling);
        const auto t0 = clock_type::now();
        constexpr int reps = 50;
        for (int i = 0; i < reps; ++i) {
            row = base;
            (void)engine::pick_token(heavy, smp, row, heavy.prompt);
        }
        std::printf("pick_token, top_k 0 + logprobs + top_logprobs 20: %.2f ms/token\n", (clock_type::now() - t0) / reps);
    }
    for (int i = 0; i < runs; ++i) {
        const double alone = run(s, request(n_vocab, true, tokens)).get();
        auto twin = run(s, request(n_vocab, true, tokens + 8));  // a second greedy stream: the cost of a 2-row step
        const double paired = run(s, request(n_vocab, true, tokens)).get();
        twin.get();
        auto noisy = run(s, request(n_vocab, false, tokens + 8));  // outlasts the greedy stream
        const double shared = run(s, request(n_vocab, true, tokens)).get();
        const double heavy = noisy.get();
        std::printf("run %d: greedy alone %.2f ms/token; beside another greedy stream %.2f (%.2fx); beside top_k 0 + top_logprobs 20 %.2f (%.2fx), "
                    "that stream %.2f\n",
                    i + 1, alone, paired, paired / alone, shared, shared / alone, heavy);
    }
}
