// Continuous batching. The scheduler owns the model's compute state (transformer, the
// block KV cache, block_manager, thread pool) on one strand: an io_context run by one
// thread. Everything below the public functions runs there, and nothing else touches
// that state.
//
// Each step forms one batch from the next token of every running sequence plus chunks
// of pending prompts (at most prefill_chunk prompt tokens while any sequence is
// decoding, so a long prompt cannot stall running streams), runs one batch-invariant
// forward pass, samples every sequence with its own sampler and hands each token to
// its job's on_token (a constrained job's logits are masked by its grammar first, and the
// tokens of a continuation its grammar forces are appended without sampling). Jobs join between steps (submit posts to the strand); finished
// and cancelled ones leave at once and release their blocks.
//
// Admission: up to `parallel` sequences run; further jobs wait in a bounded queue.
// A job starts only when the blocks for its prompt + max_tokens can be reserved, so an
// admitted job never runs out of KV. Prompts reuse the longest cached prefix; a job whose
// prompt shares more full blocks with a prompt still being computed than the cache holds
// waits for that computation (n > 1 choices, or clients sending the same long prompt at
// once, compute it once).
// KV memory: the pool holds `parallel` full contexts plus the prefix cache, or fewer
// blocks when `kv_bytes` bounds it (memory is committed as blocks are first used); jobs
// then wait for blocks, and one that could never fit is refused at submit.
// Models with recurrent layers (qwen35): each running sequence also holds one
// recurrent-state slot (`parallel` of them, taken out of kv_bytes before any block), and a
// cached prefix is resumed only from a state saved at its exact end (saved when a step ends
// on a block boundary; prompt chunks stop at such boundaries), else computed again; no
// partial-block lending (docs/engine.md, "Recurrent models").
// Models with sliding-window layers (gemma3, gemma4): those layers' KV lives in a pool of
// its own and a sequence keeps only the blocks its next queries can see (at most
// (window + pass - 2) / block_size + 2, whatever the context, with prompt passes of
// pass = min(512, max(prefill_chunk, window, 32)) positions), so admission commits that much
// sliding memory per sequence beside its full-attention blocks; a cached prefix is resumed
// only when the sliding blocks of the window before its end are still cached, else a
// shorter one (down to none); a partial block is lent with its sliding rows, when cached
// (docs/engine.md, "Sliding-window models"; src/engine/sliding_blocks.hpp).
// Speculation (scheduler_config::speculation, engine/speculation.hpp): a decoding sequence
// whose recent tokens occurred before in it adds the tokens that followed them as a draft to
// its row of the step, with logits for every draft row; the walk over those rows samples
// what one-token steps would have, so outputs do not change. Drafts stay within max_tokens,
// the context and the job's reservation; rejected rows lie past the sequence's length (never
// published to the prefix cache) and the blocks they alone needed go back to its
// reservation. Grammar-constrained jobs and models with recurrent layers do not speculate.
// With a draft model (speculation_config::draft_model, engine/model_drafter.hpp) the drafts
// are its greedy continuations instead: each running sequence that speculates holds one of
// its `parallel` slots, which computes the prompt beside the target's chunks (prefill_chunk
// tokens per step in all) and drafts once caught up, all drafting sequences in one batched
// draft-model pass per draft token. Its KV (a context per slot, f16) is taken out of
// kv_bytes before any block (draft_kv_bytes()).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "sluice/engine/generator.hpp"
#include "sluice/engine/speculation.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::engine {

// on_done's error for a job whose grammar failed mid-generation (too ambiguous at that point
// of the output, or no token allowed): the request's fault, not the engine's.
inline constexpr std::string_view k_grammar_error_prefix = "grammar: ";

struct generation_job {
    generation_request request;
    std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
    // Scheduler strand. Return false to stop early.
    std::function<bool(const generated_token&)> on_token;
    // Scheduler strand, once, before the first on_token, when the request asked for
    // prompt_logprobs: one entry per prompt token after the first (id, logprob, top).
    std::function<void(std::vector<generated_token>)> on_prompt;
    // Scheduler strand, exactly once: the result, or an error message (result is then empty).
    std::function<void(const generation_result&, const std::string& error)> on_done;
};

struct scheduler_config {
    std::size_t parallel = 4;         // sequences generating at once
    std::size_t queue_size = 64;      // jobs waiting beyond those
    std::size_t n_ctx = 4096;         // positions per sequence
    std::size_t block_size = 16;      // positions per KV block
    std::size_t cache_bytes = 256u << 20;  // KV kept for the prefix cache
    std::size_t kv_bytes = 0;         // bound on the whole KV pool (0: none); see max_sequence()
    std::size_t prefill_chunk = 64;   // prompt tokens per step while others decode
    std::size_t threads = 0;          // compute threads (0: physical cores)
    // Sliding-window layers keep only their window (false: every position, as full-attention
    // layers do -- the reference the tests compare against).
    bool sliding_kv_window = true;
    // Control tokens (by text) that grammars may produce: the chat format's tool-call and
    // reasoning markup (tools::markup_tokens). Other control tokens are never sampled under a grammar.
    std::vector<std::string> grammar_markup;
    speculation_config speculation;  // prompt-lookup or draft-model drafting (off by default)
};

class scheduler {
public:
    // tok: the model's tokenizer, needed for constrained jobs (their grammar sees token
    // bytes, and forced continuations are tokenized); without it a job with a grammar is
    // refused at submit. Building the grammar's view of the vocabulary takes a moment.
    scheduler(const llm_model& m, const vocab& v, const scheduler_config& cfg, const tokenizer* tok = nullptr);
    ~scheduler();  // fails every unfinished job's on_done with "the server is shutting down"
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    enum class admission { accepted, queue_full, too_large, invalid_token };
    // Any thread. queue_full: `parallel` jobs run and `queue_size` wait (retry later);
    // too_large: prompt + max_tokens can never fit a sequence or the KV cache;
    // invalid_token: a prompt id is outside the model's vocabulary (a client error: the
    // forward pass would fail the whole step). A job that is not accepted gets no callbacks.
    // Once accepted, a job's own failures (its callbacks throwing, its grammar, its
    // sampling) finish that job with an error; the other jobs keep running.
    admission submit(generation_job job);

    // Any thread. Running sequences and KV figures: a snapshot published after every
    // admission and every step (and before finished jobs' on_done). Queued: every accepted
    // job that is not running.
    struct load {
        std::size_t running = 0, queued = 0;
        std::size_t kv_blocks = 0, kv_used = 0, kv_cached = 0;
        std::uint64_t cached_prompt_tokens = 0;  // prompt tokens served from the prefix cache, ever
        speculation_stats speculation;           // draft tokens verified and accepted, ever
        // The sliding-window pool (all 0 without one): blocks, held by sequences, cached.
        std::size_t swa_blocks = 0, swa_used = 0, swa_cached = 0;
    };
    load current_load() const;
    std::size_t n_ctx() const noexcept { return cfg_.n_ctx; }
    // The most positions (prompt + generated) one sequence can have: the context, or less
    // when kv_bytes cannot hold a whole context. Longer requests are refused (too_large).
    std::size_t max_sequence() const noexcept { return max_sequence_; }
    // The vocabulary constrained jobs' grammars run over (null without a tokenizer).
    const std::shared_ptr<const grammar::token_vocabulary>& grammar_vocab() const noexcept { return grammar_vocab_; }
    const scheduler_config& config() const noexcept { return cfg_; }
    // Draft-model speculation: the draft model's KV for `parallel` contexts (0 without one).
    std::size_t draft_kv_bytes() const noexcept { return draft_kv_bytes_; }

private:
    struct state;  // strand-owned
    scheduler_config cfg_;
    std::size_t max_sequence_ = 0;
    std::size_t draft_kv_bytes_ = 0;
    const tokenizer* tok_ = nullptr;
    std::shared_ptr<const grammar::token_vocabulary> grammar_vocab_;
    std::atomic<std::size_t> outstanding_{0};  // accepted and not yet finished
    mutable std::mutex load_mutex_;
    load load_;
    std::unique_ptr<state> st_;
    std::thread thread_;
};

}  // namespace sluice::engine
