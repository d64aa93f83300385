// A model's vocabulary as the grammar layer sees it (tests and benchmarks only: the grammar
// layer itself never depends on engine). Control and unknown tokens are special; EOG tokens
// come from the engine's vocab.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/engine/token_constraint.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/engine/vocab.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::test {

// The engine's view of a model's vocabulary for grammars (the one the scheduler uses).
inline std::shared_ptr<const grammar::token_vocabulary> grammar_vocabulary(const engine::tokenizer& tok) {
    return engine::grammar_vocabulary(tok);
}

}  // namespace sluice::test
