// The speculative-decoding flags `sluice run` and `sluice serve` share, named as llama.cpp's:
// prompt lookup by `--spec-type ngram-simple` with `--spec-ngram-simple-size-n/-m`, a draft
// model by `--model-draft FILE` (`-md`) with `--draft-max`, `--draft-min`, `--draft-p-min`.
// The two drafters are alternatives: `--model-draft` with `--spec-type ngram-simple` is
// refused. engine/speculation.hpp and engine/model_drafter.hpp say what they do.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "sluice/engine/llm_model.hpp"
#include "sluice/engine/speculation.hpp"
#include "sluice/engine/vocab.hpp"
#include "sluice/model/gguf_file.hpp"

namespace sluice::app {

void add_speculation_options(po::options_description& d);
// llama.cpp's two-letter `-md FILE` as `--model-draft FILE` (Boost reads `-md` as `-m d`);
// call on the arguments before parsing them.
void expand_draft_alias(std::vector<std::string>& args);
// Throws sluice::error(errc::invalid_argument) for an unknown type, a size out of range, or
// both drafters at once. The result has no draft model yet (load_draft_model sets it).
engine::speculation_config speculation_of(const po::variables_map& vm);

// The draft model --model-draft names, mapped and loaded.
struct draft_model {
    model::gguf_file file;  // the weights are views into its mapping
    std::unique_ptr<engine::llm_model> model;
};

// Loads --model-draft (null without it) and points spec.draft_model at it. Throws
// sluice::error when the file cannot be read, its vocabulary is not the target's
// (engine::check_draft_vocabulary), or either model has recurrent layers.
std::unique_ptr<draft_model> load_draft_model(const po::variables_map& vm, const engine::llm_model& target, const engine::vocab& target_vocab,
                                              engine::speculation_config& spec);

}  // namespace sluice::app
