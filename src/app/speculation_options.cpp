#include "speculation_options.hpp"

#include <string>

#include "sluice/engine/model_drafter.hpp"
#include "sluice/util/error.hpp"
#include "sluice/util/log.hpp"

namespace sluice::app {
namespace {

constexpr int k_default_ngram = 3;   // see docs/performance.md, "Speculative decoding"
constexpr int k_default_draft = 8;
// Draft model: llama.cpp's defaults. The p-min cut ends a draft where the draft model is
// unsure, so a long maximum costs little where the texts diverge and pays where they agree
// (docs/performance.md, "Speculative decoding with a draft model").
constexpr int k_default_draft_max = 16;
constexpr float k_default_draft_p_min = 0.75f;

}  // namespace

void add_speculation_options(po::options_description& d) {
    d.add_options()
        ("spec-type", po::value<std::string>()->default_value("none"),
         "speculative decoding: none, or ngram-simple (draft the tokens that followed the latest earlier occurrence of the "
         "last N tokens; the output is unchanged, only faster when text repeats)")
        ("spec-ngram-simple-size-n", po::value<int>()->default_value(k_default_ngram), "ngram-simple: tokens of the tail looked up (N)")
        ("spec-ngram-simple-size-m", po::value<int>()->default_value(k_default_draft), "ngram-simple: draft tokens per step at most (M)")
        ("model-draft", po::value<std::string>(),
         "speculative decoding with a draft model (-md): a smaller GGUF model with the same vocabulary drafts greedily; "
         "the output is unchanged")
        ("draft-max", po::value<int>()->default_value(k_default_draft_max), "draft model: draft tokens per step at most (1-64)")
        ("draft-min", po::value<int>()->default_value(0), "draft model: a shorter draft is not verified")
        ("draft-p-min", po::value<float>()->default_value(k_default_draft_p_min),
         "draft model: stop drafting before a token the draft model gives a lower probability (0-1)");
}

void expand_draft_alias(std::vector<std::string>& args) {
    for (auto& a : args) {
        if (a == "-md") a = "--model-draft";
    }
}

engine::speculation_config speculation_of(const po::variables_map& vm) {
    const std::string type = vm["spec-type"].as<std::string>();
    if (type != "none" && type != "ngram-simple") {
        throw error(errc::invalid_argument, "--spec-type must be none or ngram-simple, got '" + type + "'");
    }
    engine::speculation_config c;
    if (vm.count("model-draft")) {
        if (type != "none") throw error(errc::invalid_argument, "--model-draft and --spec-type " + type + " are alternatives: give one");
        const int max = vm["draft-max"].as<int>(), min = vm["draft-min"].as<int>();
        const float p = vm["draft-p-min"].as<float>();
        if (max < 1 || max > 64) throw error(errc::invalid_argument, "--draft-max must be between 1 and 64");
        if (min < 0 || min > max) throw error(errc::invalid_argument, "--draft-min must be between 0 and --draft-max");
        if (!(p >= 0.0f && p <= 1.0f)) throw error(errc::invalid_argument, "--draft-p-min must be between 0 and 1");
        c.max_draft = static_cast<std::size_t>(max);
        c.min_draft = static_cast<std::size_t>(min);
        c.p_min = p;
        return c;
    }
    const int n = vm["spec-ngram-simple-size-n"].as<int>(), m = vm["spec-ngram-simple-size-m"].as<int>();
    if (n < 1 || n > 1024) throw error(errc::invalid_argument, "--spec-ngram-simple-size-n must be between 1 and 1024");
    if (m < 1 || m > 64) throw error(errc::invalid_argument, "--spec-ngram-simple-size-m must be between 1 and 64");
    c.ngram = static_cast<std::size_t>(n);
    c.max_draft = type == "none" ? 0 : static_cast<std::size_t>(m);
    return c;
}

std::unique_ptr<draft_model> load_draft_model(const po::variables_map& vm, const engine::llm_model& target, const engine::vocab& target_vocab,
                                              engine::speculation_config& spec) {
    if (!vm.count("model-draft")) return nullptr;
    const std::string path = vm["model-draft"].as<std::string>();
    if (target.has_recurrent_layers()) {
        throw error(errc::unsupported, "--model-draft: the model has recurrent layers, whose state cannot forget rejected drafts");
    }
    log::info("loading draft model " + path);
    auto d = std::make_unique<draft_model>(draft_model{model::gguf_file::open(path), nullptr});
    try {
        engine::check_draft_vocabulary(target_vocab, engine::vocab::from_gguf(d->file));
        d->model = engine::llm_model::load(d->file);
        if (d->model->has_recurrent_layers()) {
            throw error(errc::unsupported, "the draft model has recurrent layers, whose state cannot forget rejected drafts");
        }
    } catch (const error& e) {
        throw error(e.code(), "--model-draft " + path + ": " + e.what());
    }
    spec.draft_model = d->model.get();
    return d;
}

}  // namespace sluice::app
