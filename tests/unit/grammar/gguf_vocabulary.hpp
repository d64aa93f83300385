// A model's vocabulary as the grammar layer sees it (tests and benchmarks only: the grammar
// layer itself never depends on engine). Control and unknown tokens are special; EOG tokens
// come from the engine's vocab.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/engine/tokenizer.hpp"
#include "sluice/engine/vocab.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::test {

inline std::shared_ptr<const grammar::token_vocabulary> grammar_vocabulary(const engine::tokenizer& tok) {
    const engine::vocab& v = tok.get_vocab();
    std::vector<std::string> pieces;
    std::vector<std::int32_t> special;
    pieces.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        auto id = static_cast<engine::token_id>(i);
        pieces.push_back(tok.piece(id));
        if (v.token(id).attr & (engine::attr_control | engine::attr_unknown | engine::attr_unused)) special.push_back(id);
    }
    std::vector<std::int32_t> eog(v.eog_tokens().begin(), v.eog_tokens().end());
    return std::make_shared<grammar::token_vocabulary>(std::move(pieces), std::move(eog), std::move(special));
}

}  // namespace sluice::test
