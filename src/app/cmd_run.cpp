// `sluice run -m MODEL -p PROMPT [...]`: generate a completion, streaming it to stdout
// (speeds on stderr), or one JSON object with --json.
// `sluice score -m MODEL --ids "..." [--top-logprobs K]`: teacher-forced next-token
// log-probabilities after every prefix of the given ids.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli_options.hpp"
#include "commands.hpp"
#include "speculation_options.hpp"
#include "sluice/engine/generator.hpp"
#include "sluice/engine/incremental_decoder.hpp"
#include "sluice/engine/llm_model.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/util/error.hpp"
#include "sluice/util/utf8.hpp"

namespace sluice::app {
namespace {

namespace json = boost::json;

std::size_t context_size(const po::variables_map& vm, const engine::llm_model& m) {
    if (vm.count("ctx-size")) {
        const auto c = vm["ctx-size"].as<int>();
        if (c < 8) throw error(errc::invalid_argument, "--ctx-size must be at least 8");
        return static_cast<std::size_t>(c);
    }
    return m.hparams().n_ctx_train > 0 ? m.hparams().n_ctx_train : 4096;  // KV memory is committed as it is used
}

json::array logprobs_json(const std::vector<engine::token_logprob>& top) {
    json::array a;
    for (const auto& t : top) a.push_back(json::object{{"id", t.id}, {"logprob", t.logprob}});
    return a;
}

json::array bytes_json(std::string_view text) {
    json::array a;
    for (const unsigned char c : text) a.push_back(c);
    return a;
}

void add_common_options(po::options_description& d) {
    d.add_options()("help,h", "show this help")
        ("model,m", po::value<std::string>()->required(), "GGUF model file")
        ("ctx-size,c", po::value<int>(), "context size in tokens (default: the model's trained context)")
        ("threads,t", po::value<int>()->default_value(0), "compute threads (0: physical cores)")
        ("top-logprobs", po::value<int>()->default_value(0), "report the K most likely tokens per position")
        ("exact", "float activations and a float KV cache: slower, no 8-bit or half-precision rounding");
}

engine::kv_precision precision_of(const po::variables_map& vm) {
    if (vm.count("exact") == 0) return engine::kv_precision::f16;
    kernels::set_exact_activations(true);
    return engine::kv_precision::f32;
}

}  // namespace

int run_generate(const std::vector<std::string>& raw_args) {
    std::vector<std::string> args = raw_args;
    expand_draft_alias(args);
    po::options_description desc("run options");
    add_common_options(desc);
    desc.add_options()("prompt,p", po::value<std::string>()->required(), "prompt text (special-token text is parsed)")
        ("n-predict,n", po::value<int>()->default_value(128), "tokens to generate (-1: until the context is full)")
        ("temp", po::value<float>()->default_value(0.8f), "temperature (0: greedy)")
        ("seed", po::value<std::uint64_t>(), "random seed (default: random)")
        ("top-k", po::value<int>()->default_value(40), "top-k (0: off)")
        ("top-p", po::value<float>()->default_value(0.95f), "top-p (1: off)")
        ("min-p", po::value<float>()->default_value(0.05f), "min-p (0: off)")
        ("repeat-penalty", po::value<float>()->default_value(1.0f), "repetition penalty (1: off)")
        ("repeat-last-n", po::value<int>()->default_value(64), "penalty window in tokens (-1: all)")
        ("presence-penalty", po::value<float>()->default_value(0.0f), "subtracted once from every token in the window")
        ("frequency-penalty", po::value<float>()->default_value(0.0f), "subtracted per occurrence in the window")
        ("ignore-eos", "keep generating past end-of-generation tokens")
        ("json", "print one JSON object instead of streaming text");
    add_speculation_options(desc);
    po::positional_options_description pos;
    po::variables_map vm;
    if (!parse_options("usage: sluice run -m MODEL.gguf -p PROMPT [options]", desc, pos, args, vm)) return 0;

    const auto file = model::gguf_file::open(vm["model"].as<std::string>());
    const auto tok = engine::tokenizer::from_gguf(file);
    const auto m = engine::llm_model::load(file);
    thread_pool pool(static_cast<std::size_t>(std::max(0, vm["threads"].as<int>())));
    auto spec = speculation_of(vm);
    const auto draft = load_draft_model(vm, *m, tok.get_vocab(), spec);  // outlives the generator
    engine::generator gen(*m, tok.get_vocab(), pool, context_size(vm, *m), precision_of(vm), spec);

    engine::generation_request req;
    req.prompt = tok.tokenize(vm["prompt"].as<std::string>(), true, true);
    req.max_tokens = vm["n-predict"].as<int>();
    req.ignore_eos = vm.count("ignore-eos") != 0;
    req.top_logprobs = static_cast<std::size_t>(std::max(0, vm["top-logprobs"].as<int>()));
    auto& s = req.sampling;
    s.temperature = vm["temp"].as<float>();
    s.top_k = vm["top-k"].as<int>();
    s.top_p = vm["top-p"].as<float>();
    s.min_p = vm["min-p"].as<float>();
    s.repeat_penalty = vm["repeat-penalty"].as<float>();
    s.penalty_last_n = vm["repeat-last-n"].as<int>();
    s.presence_penalty = vm["presence-penalty"].as<float>();
    s.frequency_penalty = vm["frequency-penalty"].as<float>();
    s.seed = vm.count("seed") ? vm["seed"].as<std::uint64_t>()
                              : static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const bool as_json = vm.count("json") != 0;

    engine::incremental_decoder dec(tok);
    const auto res = gen.generate(req, [&](const engine::generated_token& t) {
        if (!as_json) std::cout << dec.push(t.id) << std::flush;
        return true;
    });
    const double pp = res.prompt_seconds > 0 ? req.prompt.size() / res.prompt_seconds : 0;
    const double tg = res.generation_seconds > 0 ? res.tokens.size() / res.generation_seconds : 0;
    if (as_json) {
        const std::string completion = tok.detokenize(res.tokens, false, false);
        json::array prompt_ids, completion_ids;
        for (auto t : req.prompt) prompt_ids.push_back(t);
        for (auto t : res.tokens) completion_ids.push_back(t);
        json::object o{{"prompt_tokens", prompt_ids},
                       {"completion_tokens", completion_ids},
                       // Valid JSON whatever the model wrote: bytes that do not form whole UTF-8
                       // characters become U+FFFD here, and completion_bytes keeps them all.
                       {"completion_text", utf8::sanitize(completion)},
                       {"completion_bytes", bytes_json(completion)},
                       {"finish_reason", engine::to_string(res.finish)},
                       {"timings", json::object{{"prompt_tokens_per_second", pp}, {"generation_tokens_per_second", tg}}},
                       {"draft_tokens", gen.speculation().drafted},
                       {"draft_tokens_accepted", gen.speculation().accepted}};
        if (req.top_logprobs > 0) {
            json::array tops;
            for (const auto& t : res.top_logprobs) tops.push_back(logprobs_json(t));
            o["top_logprobs"] = std::move(tops);
        }
        std::cout << json::serialize(o) << "\n";
    } else {
        std::cout << dec.flush() << std::endl;
        std::fprintf(stderr, "prompt: %zu tokens, %.1f tokens/s | generation: %zu tokens, %.1f tokens/s | finish: %s\n",
                     req.prompt.size(), pp, res.tokens.size(), tg, engine::to_string(res.finish));
        if (gen.speculates()) {
            std::fprintf(stderr, "speculation: %llu draft tokens, %llu accepted\n", static_cast<unsigned long long>(gen.speculation().drafted),
                         static_cast<unsigned long long>(gen.speculation().accepted));
        }
    }
    return 0;
}

int run_score(const std::vector<std::string>& args) {
    po::options_description desc("score options");
    add_common_options(desc);
    desc.add_options()("ids", po::value<std::string>()->required(), "space-separated token ids, fed as they are");
    po::positional_options_description pos;
    po::variables_map vm;
    if (!parse_options("usage: sluice score -m MODEL.gguf --ids \"ID ID ...\" [--top-logprobs K]", desc, pos, args, vm)) return 0;

    std::vector<engine::token_id> ids;
    std::istringstream in(vm["ids"].as<std::string>());
    for (std::string w; in >> w;) {
        try {
            std::size_t used = 0;
            const long v = std::stol(w, &used);
            if (used != w.size()) throw std::invalid_argument(w);
            ids.push_back(static_cast<engine::token_id>(v));
        } catch (const std::exception&) {
            throw error(errc::invalid_argument, "--ids: '" + w + "' is not a token id");
        }
    }
    if (ids.empty()) throw error(errc::invalid_argument, "--ids: no token ids given");
    const auto file = model::gguf_file::open(vm["model"].as<std::string>());
    const auto m = engine::llm_model::load(file);
    thread_pool pool(static_cast<std::size_t>(std::max(0, vm["threads"].as<int>())));
    const std::size_t n_ctx = std::max(context_size(vm, *m), ids.size());
    engine::transformer tf(*m, pool);
    engine::kv_cache cache(*m, n_ctx, precision_of(vm));
    std::vector<float> logits;
    tf.forward(ids, cache, logits, true);
    const std::size_t k = static_cast<std::size_t>(std::max(1, vm["top-logprobs"].as<int>()));
    json::array tops;
    for (std::size_t j = 0; j < ids.size(); ++j) {
        tops.push_back(logprobs_json(engine::top_logprobs(std::span<const float>(logits).subspan(j * m->n_vocab(), m->n_vocab()), k)));
    }
    std::cout << json::serialize(json::object{{"top_logprobs", std::move(tops)}}) << "\n";
    return 0;
}

}  // namespace sluice::app
