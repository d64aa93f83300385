// Speculative decoding, shared by engine::generator (the CLI) and engine::scheduler (the
// server), with one of two drafters:
//
// Prompt lookup (n-gram drafting): when a sequence's last `ngram` tokens occurred earlier in
// it (prompt or output), the tokens that followed the latest earlier occurrence are proposed
// as its next tokens (an agent quoting a file back, code edits, repeated boilerplate). No
// draft model, no state.
//
// A draft model (speculation_config::draft_model, engine/model_drafter.hpp): a smaller model
// with the target's vocabulary proposes its greedy continuation, token by token, from its
// own KV cache per sequence.
//
// Verification: the sequence's last sampled token and the draft d[0..k) are computed in one
// forward pass with logits for all k + 1 rows. Row j holds the logits after the token and
// d[0..j), which -- the forward pass being batch invariant (transformer.hpp) -- are bit for
// bit those decoding one token at a time would give once d[0..j) had been sampled. Walking
// the rows in order, the token after row j is sampled exactly as plain decoding samples it
// (same sampler, same history, one sampler call per token); the walk goes on to row j + 1
// only while that token equals d[j]. So the output, and the sampler's random draws, are
// those of plain decoding for any sampling settings; speculation only changes how many
// tokens one forward pass yields. The KV rows of rejected drafts lie past the sequence's
// length and are overwritten by its next step; the caller truncates its length to the
// positions accepted (walk_draft's result + 1).
//
// Not for sequences whose state cannot go back: models with recurrent layers (their state
// would have absorbed the rejected tokens) and grammar-constrained sequences (their matcher
// advances per token; they decode one token at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sluice/engine/vocab.hpp"

namespace sluice::engine {

class llm_model;  // llm_model.hpp

// llama.cpp's `--spec-type ngram-simple` with `--spec-ngram-simple-size-n` / `-size-m`, or its
// `--model-draft` with `--draft-max` / `--draft-min` / `--draft-p-min`.
struct speculation_config {
    std::size_t ngram = 3;      // prompt lookup: tokens of the sequence's tail looked up (size-n)
    std::size_t max_draft = 0;  // tokens proposed per step at most (size-m, draft-max); 0: speculation off
    // Drafts from this model instead of prompt lookup (null: prompt lookup). Not owned: it
    // outlives the generator or scheduler given it. Its vocabulary must be the target's
    // (check_draft_vocabulary, model_drafter.hpp); it must have no recurrent layers.
    const llm_model* draft_model = nullptr;
    std::size_t min_draft = 0;  // draft model: a shorter draft is dropped (draft-min)
    // Draft model: drafting stops before a token whose probability under the draft model is
    // below this (draft-p-min; 0: never).
    float p_min = 0;
    bool enabled() const noexcept { return max_draft > 0 && (draft_model != nullptr || ngram > 0); }
};

// Counters of speculative steps (monotonic).
struct speculation_stats {
    std::uint64_t drafted = 0;   // draft tokens verified
    std::uint64_t accepted = 0;  // of those, accepted (each saved one forward pass)
};

// Appends to `draft` `max` tokens: those that followed the latest earlier occurrence in
// `history` of its last `ngram` tokens, the copy running on into its own output where it
// reaches the end of `history` (a loop keeps looping); nothing when there is no earlier
// occurrence. Returns the number appended. O(history x ngram).
std::size_t lookup_draft(std::span<const token_id> history, std::size_t ngram, std::size_t max, std::vector<token_id>& draft);

// The verification walk over the rows of one sequence (see above). emit(j) samples the token
// after row j, hands it on, and returns it, or nullopt when the sequence ends there (end of
// generation, a length limit, the consumer stopping). Rows are walked while the token equals
// draft[j] and drafts remain. Returns the number of drafted tokens accepted.
template <class Emit>
std::size_t walk_draft(std::span<const token_id> draft, Emit&& emit) {
    for (std::size_t j = 0;; ++j) {
        const std::optional<token_id> t = emit(j);
        if (!t || j == draft.size() || *t != draft[j]) return j;
    }
}

}  // namespace sluice::engine
