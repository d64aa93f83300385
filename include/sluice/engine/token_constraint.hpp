// Constrained sampling: a grammar (grammar::grammar) restricts which tokens a sequence may
// sample next. The engine keeps one grammar::matcher per constrained sequence, masks the
// logits with it before sampling (so logprobs and sampling see only allowed tokens), and
// advances it with the chosen token. End-of-generation tokens are allowed exactly when the
// grammar is complete.
//
// A lazy constraint (a grammar_trigger) leaves the output free until one of the trigger
// words appears in it (a tool call's opening marker): from there on the grammar constrains,
// starting with the trigger word's bytes, so free text stays free and a call, once begun,
// follows its syntax and schema.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/engine/vocab.hpp"
#include "sluice/grammar/matcher.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::engine {

class tokenizer;

// When a lazy grammar starts to apply. Words are matched against the output's bytes (token
// pieces with special tokens as their text). Inside a quiet region (reasoning:
// quiet_open ... quiet_close) words do not count.
struct grammar_trigger {
    std::vector<std::string> words;        // anywhere outside a quiet region
    std::vector<std::string> start_words;  // only at the start of the output (after whitespace)
    std::string quiet_open, quiet_close;
    bool starts_quiet = false;             // the output begins inside a quiet region
};

// The vocabulary as the grammar layer sees it: each token's bytes (tokenizer::piece);
// control, unknown and unused tokens are special (never allowed); the vocabulary's
// end-of-generation tokens end a complete output. Built once per model (it builds a byte
// trie of ~100k-260k pieces: tens of milliseconds).
// `markup`: control tokens (by text) a grammar may produce, matched by their text.
std::shared_ptr<const grammar::token_vocabulary> grammar_vocabulary(const tokenizer& tok, std::span<const std::string> markup = {});

// One sequence's constraint. Not thread-safe: its sequence's owner calls it.
class token_constraint {
public:
    token_constraint(std::shared_ptr<const grammar::grammar> g, std::shared_ptr<const grammar::token_vocabulary> v);
    // A lazy constraint: inactive until `trigger` fires.
    token_constraint(std::shared_ptr<const grammar::grammar> g, std::shared_ptr<const grammar::token_vocabulary> v,
                     std::shared_ptr<const grammar_trigger> trigger);

    // Sets the logit of every token the grammar does not allow next to -infinity (nothing
    // while a lazy constraint waits for its trigger). Returns false when no token at all is
    // allowed (the grammar is at a dead end).
    bool mask_logits(std::span<float> logits);
    // Advances by the sampled token (which mask_logits allowed). False if it was not allowed,
    // or (lazy) the text from the trigger on does not follow the grammar.
    bool accept(token_id id);
    // The output so far is a complete sentence of the grammar, and nothing may follow.
    bool must_end() const { return active_ && matcher_.is_complete() && !matcher_.can_continue(); }
    bool is_complete() const { return !active_ || matcher_.is_complete(); }
    // The bytes every continuation must start with ("" when not determined).
    std::string forced_bytes() const { return active_ ? matcher_.forced_bytes() : std::string(); }
    // The grammar applies (always true for a constraint that is not lazy).
    bool active() const noexcept { return active_; }

private:
    bool scan_for_trigger(std::string_view piece);

    grammar::matcher matcher_;
    std::shared_ptr<const grammar::token_vocabulary> vocab_;
    std::shared_ptr<const grammar_trigger> trigger_;
    bool active_ = true;
    bool quiet_ = false;
    bool at_start_ = true;   // only whitespace so far
    std::string tail_;       // unscanned bytes that may still begin a word or marker
    std::vector<std::uint32_t> mask_;
};

}  // namespace sluice::engine
