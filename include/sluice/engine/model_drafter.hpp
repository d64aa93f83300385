// Drafting with a draft model (`--model-draft`): a smaller model sharing the target's
// vocabulary proposes each sequence's next tokens greedily; the target verifies them as it
// verifies prompt-lookup drafts (speculation.hpp), so the output is the target's alone.
//
// State: one slot per sequence that may draft at once (the generator: 1; the scheduler:
// `parallel`), each a contiguous KV block of n_ctx positions in the draft model's own
// kv_cache (f16; pages committed as positions are first written), and the list of tokens
// whose keys and values the slot holds. A draft call first rolls the slot back to the
// longest common prefix of that list and the sequence's history -- dropping the rows of
// drafts the target rejected, or of another sequence that held the slot before -- then
// computes the history's tokens the slot lacks (its catch-up: the whole prompt at first,
// then the tokens accepted since), and finally drafts: the history's last token (which the
// target just sampled) is fed, the most probable next token taken and fed in turn, up to the
// request's maximum. So the slot always stays in step with what the target accepted, and a
// rejected draft costs nothing to undo.
//
// Draft models with sliding-window layers keep every position in the slot (no ring); draft
// models with recurrent layers are refused (their state could not forget rejected drafts).
// Not thread-safe: one owner (the generator's caller, the scheduler's strand).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sluice/engine/kv_cache.hpp"
#include "sluice/engine/speculation.hpp"
#include "sluice/engine/transformer.hpp"
#include "sluice/engine/vocab.hpp"

namespace sluice::engine {

// Throws sluice::error(invalid_argument) saying what differs unless a draft model's
// vocabulary can stand in for the target's (llama.cpp's rule): the same tokenizer kind and
// model, the same BOS and EOS ids and add-BOS/add-EOS flags, sizes within 128 of each other,
// and equal texts for every id both have. Ids past the shorter one are never exchanged:
// drafting stops before a token the target lacks, and does not draft over a history holding
// a token the draft model lacks.
void check_draft_vocabulary(const vocab& target, const vocab& draft);

// The most tokens two compatible vocabularies' sizes may differ by.
inline constexpr std::size_t k_draft_vocab_slack = 128;

struct draft_request {
    std::uint32_t slot = 0;
    // The sequence so far: prompt and every token the target sampled. Its last token has no
    // KV yet in the target either; it is the next step's first input.
    std::span<const token_id> history;
    std::size_t max = 0;                     // draft tokens wanted at most (0: only catch up)
    std::vector<token_id>* draft = nullptr;  // the draft is appended here (max > 0)
};

class model_drafter {
public:
    // draft: the draft model (cfg.draft_model), outliving this. target_vocab: ids the target
    // accepts (drafting stops before any other). Throws sluice::error(unsupported) for a
    // draft model with recurrent layers.
    model_drafter(const llm_model& draft, thread_pool& pool, std::size_t slots, std::size_t n_ctx, const speculation_config& cfg,
                  std::size_t target_vocab);

    // KV bytes of `slots` slots of n_ctx positions (the memory a scheduler accounts for).
    static std::size_t kv_bytes(const llm_model& draft, std::size_t slots, std::size_t n_ctx) noexcept;
    std::size_t kv_bytes() const noexcept { return cache_.bytes(); }
    std::size_t slots() const noexcept { return fed_.size(); }

    // Rolls every request's slot back, catches it up by at most `catch_up` tokens in all
    // (prompts are long: the scheduler spreads them over its steps) and drafts for the
    // requests that are caught up and want drafts, one batched draft-model step per draft
    // token. Appends to each request's draft its greedy continuation: at most `max` tokens,
    // stopping before a token under cfg.p_min or outside the target's vocabulary, and none
    // when shorter than cfg.min_draft. Returns the tokens computed (catch-up and drafting).
    std::size_t draft(std::span<const draft_request> requests, std::size_t catch_up);

private:
    std::size_t roll_back(const draft_request& r);
    std::size_t catch_up(std::span<const draft_request> requests, std::size_t budget);
    std::size_t draft_rounds(std::span<const draft_request> requests);

    const llm_model& m_;
    transformer tf_;
    kv_cache cache_;
    speculation_config cfg_;
    std::size_t target_vocab_;
    std::vector<std::vector<token_id>> fed_;  // per slot: the tokens whose keys and values it holds, in order
    std::vector<std::uint32_t> tables_;       // per slot: its one-block table {slot}
    std::vector<batch_sequence> batch_;
    std::vector<float> logits_;
    std::vector<std::size_t> active_;  // draft_rounds: indices of the requests still drafting
};

}  // namespace sluice::engine
