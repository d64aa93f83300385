// Constrained sampling: a grammar (grammar::grammar) restricts which tokens a sequence may
// sample next. The engine keeps one grammar::matcher per constrained sequence, masks the
// logits with it before sampling (so logprobs and sampling see only allowed tokens), and
// advances it with the chosen token. End-of-generation tokens are allowed exactly when the
// grammar is complete.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "sluice/engine/vocab.hpp"
#include "sluice/grammar/matcher.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::engine {

class tokenizer;

// The vocabulary as the grammar layer sees it: each token's bytes (tokenizer::piece);
// control, unknown and unused tokens are special (never allowed); the vocabulary's
// end-of-generation tokens end a complete output. Built once per model (it builds a byte
// trie of ~100k-260k pieces: tens of milliseconds).
std::shared_ptr<const grammar::token_vocabulary> grammar_vocabulary(const tokenizer& tok);

// One sequence's constraint. Not thread-safe: its sequence's owner calls it.
class token_constraint {
public:
    token_constraint(std::shared_ptr<const grammar::grammar> g, std::shared_ptr<const grammar::token_vocabulary> v);

    // Sets the logit of every token the grammar does not allow next to -infinity.
    // Returns false when no token at all is allowed (the grammar is at a dead end).
    bool mask_logits(std::span<float> logits);
    // Advances by the sampled token (which mask_logits allowed). False if it was not allowed.
    bool accept(token_id id) { return matcher_.accept_token(id); }
    // The output so far is a complete sentence of the grammar, and nothing may follow.
    bool must_end() const { return matcher_.is_complete() && !matcher_.can_continue(); }
    bool is_complete() const { return matcher_.is_complete(); }
    // The bytes every continuation must start with ("" when not determined).
    std::string forced_bytes() const { return matcher_.forced_bytes(); }

private:
    grammar::matcher matcher_;
    std::vector<std::uint32_t> mask_;
};

}  // namespace sluice::engine
