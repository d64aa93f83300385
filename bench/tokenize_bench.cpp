// Tokenisation speed on 1 MB of mixed text (bench/mixed_text.hpp).
//
//   build/bench/tokenize_bench [--benchmark_min_time=2]
//
// Needs $SLUICE_SHARED (default ../shared) for the real vocabularies. The
// pre-tokenizer-only case is the in-run baseline: the regex split that any
// byte-level BPE tokenizer must do before merging.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "engine/pre_tokenizer.hpp"
#include "mixed_text.hpp"
#include "sluice/engine/incremental_decoder.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/util/log.hpp"

namespace {

using namespace sluice;

const std::string& text() {
    static const std::string t = bench::mixed_text(1 << 20);
    return t;
}

std::filesystem::path shared_dir() {
    const char* env = std::getenv("SLUICE_SHARED");
    return env ? std::filesystem::path(env) : std::filesystem::path("../shared");
}

struct loaded {
    model::gguf_file file;
    engine::tokenizer tok;
};

const loaded* load(const std::string& rel) {
    static std::map<std::string, std::unique_ptr<loaded>> cache;
    auto& slot = cache[rel];
    if (!slot) {
        const auto p = shared_dir() / rel;
        if (!std::filesystem::exists(p)) return nullptr;
        auto f = model::gguf_file::open(p.string());
        auto t = engine::tokenizer::from_gguf(f);
        slot = std::make_unique<loaded>(loaded{std::move(f), std::move(t)});
    }
    return slot.get();
}

void tokenize_case(benchmark::State& state, const std::string& rel, bool parse_special) {
    const auto* l = load(rel);
    if (l == nullptr) {
        state.SkipWithError(("missing " + (shared_dir() / rel).string() + " (set SLUICE_SHARED)").c_str());
        return;
    }
    std::size_t n_tokens = 0;
    for (auto _ : state) {
        const auto ids = l->tok.tokenize(text(), true, parse_special);
        n_tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text().size()));
    state.counters["tokens"] = static_cast<double>(n_tokens);
}

void BM_llama3_tokenize_raw(benchmark::State& s) { tokenize_case(s, "models/llama3-Q6_K.gguf", false); }
void BM_llama3_tokenize_parse_special(benchmark::State& s) { tokenize_case(s, "models/llama3-Q6_K.gguf", true); }
void BM_qwen2_tokenize(benchmark::State& s) { tokenize_case(s, "models/qwen2-Q4_K_M.gguf", true); }
void BM_spm_tokenize(benchmark::State& s) { tokenize_case(s, "vocab/ggml-vocab-llama-spm.gguf", true); }

void BM_llama3_pretokenize_only(benchmark::State& state) {
    const engine::detail::pre_tokenizer pre(engine::detail::pre_tokenizer_for("llama-bpe").regexes);
    for (auto _ : state) {
        const auto pieces = pre.split(text());
        benchmark::DoNotOptimize(pieces.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text().size()));
}

void BM_llama3_stream_decode(benchmark::State& state) {
    const auto* l = load("models/llama3-Q6_K.gguf");
    if (l == nullptr) {
        state.SkipWithError("missing llama3 model (set SLUICE_SHARED)");
        return;
    }
    const auto ids = l->tok.tokenize(text(), false, false);
    for (auto _ : state) {
        engine::incremental_decoder d(l->tok);
        std::size_t n = 0;
        for (auto id : ids) n += d.push(id).size();
        benchmark::DoNotOptimize(n);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text().size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}

}  // namespace

BENCHMARK(BM_llama3_pretokenize_only)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_llama3_tokenize_raw)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_llama3_tokenize_parse_special)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_qwen2_tokenize)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_spm_tokenize)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_llama3_stream_decode)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    log::set_level(log::level::warn);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
