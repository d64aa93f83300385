// The speculative-decoding flags `sluice run` and `sluice serve` share, named as llama.cpp's
// (`--spec-type ngram-simple`, `--spec-ngram-simple-size-n/-m`; its older `--draft-max` /
// `--draft-min` were removed upstream in their favour). engine/speculation.hpp says what
// they do.
#pragma once

#include "cli_options.hpp"
#include "sluice/engine/speculation.hpp"

namespace sluice::app {

void add_speculation_options(po::options_description& d);
// Throws sluice::error(errc::invalid_argument) for an unknown type or a size out of range.
engine::speculation_config speculation_of(const po::variables_map& vm);

}  // namespace sluice::app
