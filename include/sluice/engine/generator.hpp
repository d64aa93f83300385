// Runs one sequence: the prompt as one batch (in chunks), then one token at a time,
// sampling each next token, until max_tokens, an end-of-generation token (which is not
// emitted), the context limit, or the callback asks to stop. With speculation on
// (speculation.hpp; not for models with recurrent layers), each step also verifies the
// tokens prompt lookup or a draft model (model_drafter.hpp, one slot) drafts: the same
// tokens come out, several per forward pass when the drafts are right. Its decode steps then
// use the batch-invariant matmul policy, whose one-token rows are those of the default policy.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <optional>
#include <vector>

#include "sluice/engine/kv_cache.hpp"
#include "sluice/engine/sampler.hpp"
#include "sluice/engine/speculation.hpp"
#include "sluice/engine/transformer.hpp"
#include "sluice/engine/vocab.hpp"
#include "sluice/grammar/grammar.hpp"

namespace sluice::engine {

struct grammar_trigger;  // token_constraint.hpp

struct generation_request {
    std::vector<token_id> prompt;
    int max_tokens = 128;       // < 0: until the context is full
    sampling_params sampling;
    bool ignore_eos = false;
    std::size_t top_logprobs = 0;  // per generated position, from the raw logits
    bool logprobs = false;         // report each generated token's own log-probability
    // Log-probabilities of the prompt's own tokens (the completions API's echo + logprobs):
    // the scheduler then computes the whole prompt (no prefix cache) and reports, for every
    // prompt position after the first, that token's logprob and this many alternatives.
    std::optional<std::size_t> prompt_logprobs;
    // Constrained generation: only tokens the grammar allows are sampled, and the output
    // ends (finish stop) exactly when the grammar is complete. Null: unconstrained.
    std::shared_ptr<const grammar::grammar> grammar;
    // With a grammar: make it lazy, applying only from the moment a trigger word appears in
    // the output (tool calls under tool_choice "auto"). Null: the grammar applies from the start.
    std::shared_ptr<const grammar_trigger> trigger;
};

// One generated token as the callback sees it.
struct generated_token {
    token_id id;
    float logprob = 0;                 // log-softmax of the raw logits (when requested)
    std::vector<token_logprob> top;    // the top_logprobs alternatives (when requested)
};

enum class finish_reason { stop, length, cancelled };
const char* to_string(finish_reason r) noexcept;

struct generation_result {
    std::vector<token_id> tokens;
    std::vector<std::vector<token_logprob>> top_logprobs;
    finish_reason finish = finish_reason::length;
    double prompt_seconds = 0;
    double generation_seconds = 0;
    std::size_t cached_tokens = 0;  // prompt tokens whose KV came from the prefix cache
    std::size_t forced_tokens = 0;  // completion tokens a grammar forced (not sampled)
};

// Throws invalid_argument unless the tokenizer's vocabulary and the model's output rows
// (n_vocab) have the same size: ids from one must be valid for the other. Both the
// generator and the scheduler check it when they are built over a model.
void check_vocabulary(const llm_model& m, const vocab& v);

// Samples the next token of a sequence from its logits (modified in place), with the
// log-probabilities the request asks for, taken from the raw logits.
generated_token pick_token(const generation_request& req, sampler& smp, std::span<float> logits, std::span<const token_id> history);

// pick_token in two halves, which may run at the same time on the same logits when the
// sampler does not edit them (sampler::edits_logits() false): the log-probabilities the
// request wants from the raw logits, then, once the sampler has drawn `id`, the token.
struct raw_logprobs {
    log_normalizer z{};
    std::vector<token_logprob> top;
};
raw_logprobs logprobs_of(const generation_request& req, std::span<const float> logits);
generated_token token_with_logprobs(const generation_request& req, const sampler& smp, std::span<const float> logits, token_id id, raw_logprobs lp);

class model_drafter;  // model_drafter.hpp

class generator {
public:
    // With speculation.draft_model: throws sluice::error(unsupported) when this model has
    // recurrent layers, or the draft model has (prompt lookup is silently off for the former).
    generator(const llm_model& m, const vocab& v, thread_pool& pool, std::size_t n_ctx,
              kv_precision precision = kv_precision::f16, speculation_config speculation = {});
    ~generator();

    // on_token is called for every generated token, in order; returning false stops
    // (finish = cancelled).
    generation_result generate(const generation_request& req, const std::function<bool(const generated_token&)>& on_token = {});

    std::size_t n_ctx() const noexcept { return cache_.n_ctx(); }
    // Whether generate() speculates (configured on, and the model can roll back).
    bool speculates() const noexcept { return spec_.enabled(); }
    // Draft tokens verified and accepted, over every generate() call.
    const speculation_stats& speculation() const noexcept { return stats_; }

private:
    // The next input after the walk: the last sampled token, then a fresh draft (if any).
    void next_input(const generation_request& req, std::span<const token_id> history, std::size_t n_generated);
    const vocab& vocab_;
    transformer tf_;
    kv_cache cache_;
    std::vector<float> logits_;
    speculation_config spec_;
    speculation_stats stats_;
    std::vector<token_id> input_;  // this step's tokens: the last sampled one, then the draft
    std::unique_ptr<model_drafter> drafter_;  // speculation with a draft model
};

}  // namespace sluice::engine
