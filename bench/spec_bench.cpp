// Speculative decoding (prompt lookup, or a draft model with --model-draft) on a
// repetitive-text workload: generation speed with and without it, measured in the same run,
// runs interleaved, on the CLI's path (engine::generator) and the server's
// (engine::scheduler, `--streams` requests at once). The outputs must be equal token for
// token; the bench fails otherwise.
//
//   build/bench/spec_bench MODEL.gguf [--gen 256] [--reps 3] [--threads 2] [--ngram 3]
//                          [--draft 16] [--streams 4] [--prompt-file FILE] [--clock cpu]
//                          [--model-draft DRAFT.gguf [--p-min 0.75]]
//
// --model-draft: drafts come from DRAFT.gguf (its vocabulary must be MODEL's), up to --draft
// tokens, stopping below --p-min (default 0: random-weight models are never that sure).
//
// --clock cpu: time is the process's CPU time rather than the wall clock, from each run's
// first generated token to its end (on a machine shared with other jobs, wall time mostly
// measures them; use it with --threads 1, where no worker spins waiting for another).
//
// Default prompt: a short passage written out twice and begun a third time (what an agent
// quoting a file back looks like); --prompt-file replaces it. Greedy decoding, EOS ignored.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <future>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/engine/generator.hpp"
#include "sluice/engine/model_drafter.hpp"
#include "sluice/engine/scheduler.hpp"
#include "sluice/engine/tokenizer.hpp"

namespace {

using namespace sluice;
using clock_type = std::chrono::steady_clock;

struct options {
    std::string model, prompt_file, draft_model;
    float p_min = 0;
    int gen = 256, reps = 3, threads = 2, ngram = 3, draft = 16, streams = 4;
    bool cpu_clock = false;
};

bool g_cpu_clock = false;

// Seconds on the chosen clock.
double now_seconds() {
    if (g_cpu_clock) {
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
    }
    return std::chrono::duration<double>(clock_type::now().time_since_epoch()).count();
}

options parse(int argc, char** argv) {
    options o;
    if (argc < 2) throw std::invalid_argument("usage: spec_bench MODEL.gguf [--gen N] [--reps N] [--threads N] [--ngram N] [--draft N] [--streams N] [--prompt-file F]");
    o.model = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--gen") o.gen = std::stoi(v);
        else if (k == "--reps") o.reps = std::stoi(v);
        else if (k == "--threads") o.threads = std::stoi(v);
        else if (k == "--ngram") o.ngram = std::stoi(v);
        else if (k == "--draft") o.draft = std::stoi(v);
        else if (k == "--streams") o.streams = std::stoi(v);
        else if (k == "--prompt-file") o.prompt_file = v;
        else if (k == "--clock") o.cpu_clock = v == "cpu";
        else if (k == "--model-draft") o.draft_model = v;
        else if (k == "--p-min") o.p_min = std::stof(v);
        else throw std::invalid_argument("unknown option " + k);
    }
    return o;
}

std::string default_prompt() {
    const std::string passage =
        "Once upon a time, there was a little girl named Lily. She loved to play with her red ball in the park. "
        "One day, she saw a big dog. The dog was friendly and wanted to play too. They played all day until the sun went down. ";
    return passage + passage + "Once upon a time, there was";
}

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct outcome {
    double tokens_per_s = 0;
    std::vector<engine::token_id> tokens;
    engine::speculation_stats stats;
};

outcome run_generator(const engine::llm_model& m, const engine::vocab& v, thread_pool& pool, const engine::generation_request& r,
                      engine::speculation_config spec) {
    engine::generator g(m, v, pool, r.prompt.size() + static_cast<std::size_t>(r.max_tokens) + 1, engine::kv_precision::f16, spec);
    double first = 0;
    const auto res = g.generate(r, [&](const engine::generated_token&) {
        if (first == 0) first = now_seconds();
        return true;
    });
    // From the first token: the tokens after it took the generation time.
    const double seconds = now_seconds() - first;
    return {static_cast<double>(res.tokens.size() - 1) / seconds, res.tokens, g.speculation()};
}

// `streams` copies of the request at once (prefix cache off, so each computes its prompt):
// the tokens after the first one any stream generated / the time from it to the last token.
outcome run_scheduler(const engine::llm_model& m, const engine::vocab& v, const engine::generation_request& r, int threads,
                      std::size_t streams, engine::speculation_config spec) {
    engine::scheduler_config c;
    c.parallel = streams;
    c.n_ctx = r.prompt.size() + static_cast<std::size_t>(r.max_tokens) + 1;
    c.threads = static_cast<std::size_t>(threads);
    c.cache_bytes = 0;
    c.speculation = spec;
    engine::scheduler s(m, v, c);
    auto first = std::make_shared<std::atomic<double>>(0.0);  // set on the strand, read here after the last on_done
    std::vector<std::future<engine::generation_result>> futs;
    for (std::size_t i = 0; i < streams; ++i) {
        auto done = std::make_shared<std::promise<engine::generation_result>>();
        futs.push_back(done->get_future());
        engine::generation_job job;
        job.request = r;
        job.on_token = [first](const engine::generated_token&) {
            if (first->load() == 0) first->store(now_seconds());
            return true;
        };
        job.on_done = [done](const engine::generation_result& res, const std::string& err) {
            if (!err.empty()) std::fprintf(stderr, "job failed: %s\n", err.c_str());
            done->set_value(res);
        };
        if (s.submit(std::move(job)) != engine::scheduler::admission::accepted) throw std::runtime_error("a job was refused");
    }
    outcome out;
    std::size_t n = 0;
    for (auto& f : futs) {
        const auto res = f.get();
        n += res.tokens.size();
        if (out.tokens.empty()) out.tokens = res.tokens;
    }
    out.tokens_per_s = static_cast<double>(n - 1) / (now_seconds() - first->load());
    out.stats = s.current_load().speculation;
    return out;
}

}  // namespace

int main(int argc, char** argv) try {
    const options o = parse(argc, argv);
    g_cpu_clock = o.cpu_clock;
    const auto file = model::gguf_file::open(o.model);
    const auto tok = engine::tokenizer::from_gguf(file);
    const auto m = engine::llm_model::load(file);
    engine::generation_request r;
    r.prompt = tok.tokenize(o.prompt_file.empty() ? default_prompt() : read_text(o.prompt_file), true, false);
    r.max_tokens = o.gen;
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    engine::speculation_config spec{static_cast<std::size_t>(o.ngram), static_cast<std::size_t>(o.draft)};
    std::optional<model::gguf_file> draft_file;
    std::unique_ptr<engine::llm_model> draft;
    if (!o.draft_model.empty()) {
        draft_file.emplace(model::gguf_file::open(o.draft_model));
        engine::check_draft_vocabulary(tok.get_vocab(), engine::vocab::from_gguf(*draft_file));
        draft = engine::llm_model::load(*draft_file);
        spec.draft_model = draft.get();
        spec.p_min = o.p_min;
    }
    thread_pool pool(static_cast<std::size_t>(o.threads));
    std::printf("model %s, prompt %zu tokens, %d generated, %d threads, %s, draft %d, %d reps (interleaved), %s time\n",
                o.model.c_str(), r.prompt.size(), o.gen, o.threads,
                draft ? ("draft model " + o.draft_model + " p-min " + std::to_string(o.p_min)).c_str() : ("ngram " + std::to_string(o.ngram)).c_str(),
                o.draft, o.reps, o.cpu_clock ? "CPU" : "wall");

    {  // warm-up: the weights paged in (and packed) before anything is timed
        engine::generation_request w = r;
        w.max_tokens = 4;
        run_generator(*m, tok.get_vocab(), pool, w, {});
    }
    std::vector<double> plain_g, spec_g, plain_s, spec_s;
    outcome last_g, last_s;
    for (int rep = 0; rep < o.reps; ++rep) {
        // Interleaved, alternating which goes first, so drift on a shared machine hits both.
        const bool spec_first = rep % 2 == 1;
        auto gen = [&](bool on) { return run_generator(*m, tok.get_vocab(), pool, r, on ? spec : engine::speculation_config{}); };
        auto sched = [&](bool on) {
            return run_scheduler(*m, tok.get_vocab(), r, o.threads, static_cast<std::size_t>(o.streams), on ? spec : engine::speculation_config{});
        };
        const auto x = gen(spec_first), y = gen(!spec_first);
        const auto& a = spec_first ? y : x;
        const auto& b = spec_first ? x : y;
        if (a.tokens != b.tokens) throw std::runtime_error("generator: speculation changed the output");
        plain_g.push_back(a.tokens_per_s);
        spec_g.push_back(b.tokens_per_s);
        last_g = b;
        const auto z = sched(spec_first), w = sched(!spec_first);
        const auto& c = spec_first ? w : z;
        const auto& d = spec_first ? z : w;
        if (c.tokens != d.tokens) throw std::runtime_error("scheduler: speculation changed the output");
        plain_s.push_back(c.tokens_per_s);
        spec_s.push_back(d.tokens_per_s);
        last_s = d;
    }
    auto report = [](const char* what, const std::vector<double>& plain, const std::vector<double>& sp, const outcome& last) {
        const double acc = last.stats.drafted > 0 ? 100.0 * static_cast<double>(last.stats.accepted) / static_cast<double>(last.stats.drafted) : 0;
        std::printf("%-26s plain %8.1f tok/s | speculative %8.1f tok/s | %.2fx | drafted %llu, accepted %llu (%.0f%%)\n", what, median(plain),
                    median(sp), median(sp) / median(plain), static_cast<unsigned long long>(last.stats.drafted),
                    static_cast<unsigned long long>(last.stats.accepted), acc);
    };
    report("run (generator)", plain_g, spec_g, last_g);
    char label[64];
    std::snprintf(label, sizeof label, "serve (scheduler, %d streams)", o.streams);
    report(label, plain_s, spec_s, last_s);
    std::printf("outputs identical with and without speculation: yes\n");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "spec_bench: %s\n", e.what());
    return 1;
}
