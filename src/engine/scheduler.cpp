#include "sluice/engine/scheduler.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>

#include "sluice/engine/block_manager.hpp"
#include "sluice/engine/model_drafter.hpp"
#include "sluice/engine/token_constraint.hpp"
#include "sluice/util/error.hpp"
#include "sluice/util/log.hpp"
#include "sliding_blocks.hpp"
#include "state_checkpoints.hpp"

namespace sluice::engine {
namespace {

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// One request from admission to its last token. Strand-owned.
struct sequence {
    generation_job job;
    sampler smp;
    std::vector<token_id> tokens;  // the prompt, then every sampled token
    std::size_t n_prompt = 0;
    std::size_t limit = 0;          // tokens to generate at most
    std::size_t n_done = 0;         // positions whose keys and values are in the cache
    std::vector<std::uint32_t> blocks;  // block table
    std::size_t reserved = 0;       // blocks reserved and not yet allocated
    std::size_t n_published = 0;    // leading full blocks offered to the prefix cache
    std::uint32_t slot = 0;         // recurrent models: its recurrent_state slot (while running)
    bool has_slot = false;
    std::size_t save_at = 0;        // recurrent models: a prompt chunk stops here (a cached prefix's end without a saved state)
    std::uint64_t decode_saved = 0; // recurrent models: the key of the state it saved last while decoding
    sliding_blocks::table swa;      // sliding-window models: the sliding layers' block table
    generation_result result;
    std::optional<token_constraint> constraint;  // set when the job has a grammar
    int masked = -1;                // this step's logits row: -1 not masked yet, 0 no token allowed, 1 masked, 2 grammar error
    std::string grammar_error;      // why the grammar failed (masked == 2)
    std::optional<generated_token> picked;  // this step's token, sampled on the pool by sample_rows
    raw_logprobs pool_lp;           // its log-probabilities, when computed beside the draw
    token_id pool_id = 0;           // the draw, when made beside the log-probabilities
    std::string sample_error;       // why sampling failed on the pool (picked empty)
    std::string lp_error;           // why the log-probabilities failed beside the draw
    std::vector<generated_token> prompt_lp;  // prompt_logprobs: one per prompt token after the first
    bool speculates = false;        // drafts tokens (unconstrained, model can roll back)
    std::uint32_t draft_slot = 0;   // draft-model speculation: its slot in the drafter (while running)
    bool has_draft_slot = false;
    std::vector<token_id> draft;    // this step's draft, computed after the last sampled token
    bool finished = false;          // on_done has been called; the sequence leaves `running`
    clock_type::time_point admitted, first_token;

    explicit sequence(generation_job j) : job(std::move(j)), smp(job.request.sampling), tokens(job.request.prompt), n_prompt(tokens.size()) {}
    bool decoding() const noexcept { return n_done >= n_prompt; }
    // Positions to compute next: the last sampled token, plus any its grammar forced after it
    // (or, while a step is being formed, its draft).
    std::size_t pending() const noexcept { return tokens.size() - n_done; }
};

// Prompt rows computed per step for a job that wants its prompt's logprobs: each row's
// logits are kept until they are reduced, so the step's logits buffer stays small.
constexpr std::size_t k_prompt_logit_rows = 32;

// Leading tokens two sequences share.
std::size_t common_prefix(std::span<const token_id> a, std::span<const token_id> b) {
    const std::size_t n = std::min(a.size(), b.size());
    std::size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

// Tokens of one forward pass at most (the transformer's batch).
constexpr std::size_t k_max_batch = 512;

// Sliding-window models: positions of one sequence per pass at most, so the blocks a
// sequence holds stay near its window (sliding_blocks::cap): prompt chunks as long as the
// window (at least prefill_chunk, and 32, which a decode step's sampled and forced tokens
// and a prompt-logprobs chunk never exceed), within the transformer's batch.
std::size_t sliding_pass(const llm_model& m, const scheduler_config& cfg) {
    return std::min<std::size_t>(k_max_batch, std::max<std::size_t>({cfg.prefill_chunk, m.sliding_window(), 32}));
}

// The KV positions a job can occupy: its prompt plus everything it may generate.
std::size_t positions_needed(const generation_request& r, std::size_t n_ctx) {
    const std::size_t limit = r.max_tokens < 0 ? n_ctx : static_cast<std::size_t>(r.max_tokens);
    return std::min(r.prompt.size() + limit, n_ctx);
}

}  // namespace

struct scheduler::state {
    state(scheduler& owner, const llm_model& m, const vocab& v, const scheduler_config& cfg, std::size_t n_blocks, std::size_t cached,
          std::size_t n_checkpoints, std::size_t n_swa, std::size_t swa_cached)
        : self(owner), voc(v), pool(cfg.threads), tf(m, pool, k_max_batch, matmul_policy::batch_invariant),
          cache(m, kv_blocks{n_blocks, cfg.block_size, cfg.parallel + n_checkpoints, n_swa}), blocks(n_blocks, cfg.block_size, cached),
          recurrent(m.has_recurrent_layers()), checkpoints(cfg.parallel, n_checkpoints) {
        for (std::size_t i = cfg.parallel; i-- > 0;) free_slots.push_back(static_cast<std::uint32_t>(i));
        if (cache.has_sliding_pool()) swa.emplace(n_swa, cfg.block_size, swa_cached, m.sliding_window(), sliding_pass(m, cfg));
        if (cfg.speculation.enabled() && cfg.speculation.draft_model != nullptr) {
            drafter = std::make_unique<model_drafter>(*cfg.speculation.draft_model, pool, cfg.parallel, cfg.n_ctx, cfg.speculation, m.n_vocab());
            for (std::size_t i = cfg.parallel; i-- > 0;) free_draft_slots.push_back(static_cast<std::uint32_t>(i));
        }
    }

    void enqueue(std::unique_ptr<sequence> s);
    void kick();
    void step();
    void reap();
    void admit();
    bool admit_one(sequence& s, std::vector<std::uint32_t>& prefix);
    void run_batch();
    void after_forward(sequence& s, std::size_t n, float* logits);
    void book(sequence& s, std::size_t n);
    bool emit(sequence& s, float* row);
    void propose_drafts();
    void return_spare_blocks(sequence& s);
    void prompt_rows(sequence& s, std::size_t pos0, std::size_t n, const float* rows);
    bool waits_for_running_prompt(const sequence& s, std::size_t cached_blocks) const;
    void append_forced(sequence& s);
    void mask_rows();
    void sample_rows_on_pool();
    void ensure_blocks(sequence& s, std::size_t positions);
    std::size_t resumable_prefix(std::vector<std::uint32_t>& prefix);
    std::uint64_t block_name(const sequence& s, std::size_t j) const;
    void save_checkpoint(sequence& s);
    void finish(sequence& s, finish_reason why, const std::string& error = {});
    bool ended(sequence& s, finish_reason why, const std::string& error = {}) {  // finish(), for a caller returning "goes on"
        finish(s, why, error);
        return false;
    }
    void shutdown();
    void publish_load();
    void notify();

    scheduler& self;
    const vocab& voc;
    net::io_context ctx{1};
    net::executor_work_guard<net::io_context::executor_type> work{ctx.get_executor()};
    thread_pool pool;
    transformer tf;
    kv_cache cache;
    block_manager blocks;
    // Models with recurrent layers: each running sequence holds one of the cache's
    // recurrent_state slots [0, parallel); the rest are the prefix cache's checkpoints.
    bool recurrent = false;
    std::vector<std::uint32_t> free_slots;
    state_checkpoints checkpoints;
    // Models with sliding-window layers (unless cfg.sliding_kv_window is off): their KV, kept
    // for the window only (sliding_blocks.hpp).
    std::optional<sliding_blocks> swa;
    // Draft-model speculation: the draft model's KV, one slot per running sequence that speculates.
    std::unique_ptr<model_drafter> drafter;
    std::vector<std::uint32_t> free_draft_slots;
    std::vector<draft_request> draft_requests;  // propose_drafts' work list
    std::deque<std::unique_ptr<sequence>> waiting;
    std::vector<std::unique_ptr<sequence>> running;  // in admission order
    bool step_posted = false, stopping = false;
    std::uint64_t cached_prompt_tokens = 0;
    speculation_stats spec_stats;
    std::vector<batch_sequence> batch;
    std::vector<sequence*> batch_seqs;
    std::vector<float> logits;
    std::vector<float*> sample_rows;  // per batch entry: the logits row to sample from, or null
    // on_done calls of finished sequences, made once the load snapshot shows them gone,
    // so a client told "done" that reads /metrics next sees its blocks released.
    std::vector<std::function<void()>> done_calls;
    // Forced tokens appended per step and sequence: every running sequence's rows plus a
    // prompt chunk always fit one batch.
    std::size_t max_forced = 0;
    std::vector<std::pair<sequence*, float*>> mask_jobs;  // mask_rows' work list
    // sample_rows_on_pool's work list: 0 pick_token; 1 the draw and 2 the log-probabilities
    // of a row whose sampler leaves the logits unedited (run side by side).
    struct sample_job {
        sequence* s;
        float* row;
        int part;
    };
    std::vector<sample_job> sample_jobs;
};

scheduler::scheduler(const llm_model& m, const vocab& v, const scheduler_config& cfg, const tokenizer* tok)
    : cfg_(cfg), tok_(tok), grammar_vocab_(tok ? grammar_vocabulary(*tok, cfg.grammar_markup) : nullptr) {
    check_vocabulary(m, v);
    if (cfg.parallel == 0 || cfg.n_ctx == 0 || cfg.block_size == 0 || cfg.prefill_chunk == 0) {
        throw error(errc::invalid_argument, "scheduler: parallel, context, block size and prefill chunk must be positive");
    }
    // Sliding-window layers in a pool of their own (unless turned off): a main block then
    // holds the full-attention layers' rows only, and a sequence holds at most swa_cap
    // sliding blocks, whatever its length (sliding_blocks.hpp).
    const bool split = cfg.sliding_kv_window && m.sliding_window() > 0 &&
                       kv_cache::block_bytes(m, cfg.block_size, kv_precision::f16, kv_layers::sliding) > 0;
    const std::size_t block_bytes = kv_cache::block_bytes(m, cfg.block_size, kv_precision::f16, split ? kv_layers::full : kv_layers::all);
    const std::size_t swa_bytes = split ? kv_cache::block_bytes(m, cfg.block_size, kv_precision::f16, kv_layers::sliding) : 0;
    const std::size_t ctx_blocks = ceil_div(cfg.n_ctx, cfg.block_size);
    const std::size_t swa_cap = split ? sliding_blocks::cap(cfg.n_ctx, cfg.block_size, m.sliding_window(), sliding_pass(m, cfg)) : 0;
    // A cached block of positions costs its main and its sliding block.
    const std::size_t position_block_bytes = std::max<std::size_t>(1, block_bytes + swa_bytes);
    // Recurrent layers: one state slot per running sequence, always there (taken out of
    // kv_bytes first), and a quarter of cache_bytes for the prefix cache's state checkpoints
    // (at most one per cached block: see state_checkpoints.hpp).
    const std::size_t slot_bytes = recurrent_state::slot_bytes(m);
    // Draft-model speculation: the draft model's KV, a context per sequence (model_drafter.hpp).
    if (cfg.speculation.enabled() && cfg.speculation.draft_model != nullptr) {
        if (m.has_recurrent_layers()) {
            throw error(errc::unsupported, "speculative decoding: the model has recurrent layers, whose state cannot forget rejected drafts");
        }
        draft_kv_bytes_ = model_drafter::kv_bytes(*cfg.speculation.draft_model, cfg.parallel, cfg.n_ctx);
    }
    std::size_t cache_bytes = cfg.cache_bytes, n_checkpoints = 0;
    if (slot_bytes > 0) {
        n_checkpoints = std::min(cfg.cache_bytes / 4 / slot_bytes, cfg.cache_bytes / position_block_bytes);
        cache_bytes -= n_checkpoints * slot_bytes;
    }
    std::size_t cached = cache_bytes / position_block_bytes;
    // Every running sequence can hold a full context (and its sliding window); the prefix
    // cache comes on top; kv_bytes bounds the whole, both pools shrinking alike.
    std::size_t n_blocks = cfg.parallel * ctx_blocks + cached;
    std::size_t n_swa = split ? cfg.parallel * swa_cap + cached : 0;
    if (cfg.kv_bytes > 0) {
        const std::size_t states = (cfg.parallel + n_checkpoints) * slot_bytes + draft_kv_bytes_;
        if (cfg.kv_bytes <= states) {
            throw error(errc::invalid_argument, std::string("scheduler: the KV memory bound does not cover the ") +
                                                    (draft_kv_bytes_ > 0 ? "draft model's KV" : "recurrent state") + " of " +
                                                    std::to_string(cfg.parallel) + " sequences (" + std::to_string(states) + " bytes)");
        }
        const std::size_t budget = cfg.kv_bytes - states;
        if (!split) {
            n_blocks = std::min(n_blocks, budget / block_bytes);
        } else if (const long double whole = static_cast<long double>(n_blocks) * block_bytes + static_cast<long double>(n_swa) * swa_bytes;
                   whole > budget) {
            const long double f = static_cast<long double>(budget) / whole;
            if (block_bytes > 0) n_blocks = static_cast<std::size_t>(static_cast<long double>(n_blocks) * f);
            n_swa = static_cast<std::size_t>(static_cast<long double>(n_swa) * f);
        }
    }
    if (n_blocks == 0 || (split && n_swa == 0)) {
        throw error(errc::invalid_argument, "scheduler: the KV memory bound holds no block of " + std::to_string(block_bytes + swa_bytes) +
                                                " bytes");
    }
    cached = std::min(cached, n_blocks);
    max_sequence_ = std::min(cfg.n_ctx, n_blocks * cfg.block_size);
    // A sequence of up to n_swa blocks fits the sliding pool whatever its window; longer ones need their cap.
    if (split && n_swa < swa_cap) max_sequence_ = std::min(max_sequence_, n_swa * cfg.block_size);
    st_ = std::make_unique<state>(*this, m, v, cfg_, n_blocks, cached, n_checkpoints, n_swa, std::min(cached, n_swa));
    const std::size_t rows = st_->tf.max_batch() > cfg.prefill_chunk ? (st_->tf.max_batch() - cfg.prefill_chunk) / cfg.parallel : 0;
    st_->max_forced = std::min<std::size_t>(16, rows > 0 ? rows - 1 : 0);
    st_->publish_load();
    thread_ = std::thread([this] { st_->ctx.run(); });
}

scheduler::~scheduler() {
    net::post(st_->ctx, [this] { st_->shutdown(); });
    thread_.join();
}

scheduler::admission scheduler::submit(generation_job job) {
    const auto& r = job.request;
    if (r.prompt.empty()) throw error(errc::invalid_argument, "the prompt has no tokens");
    const std::size_t n_vocab = st_->tf.model().n_vocab();
    for (const token_id t : r.prompt) {
        if (t < 0 || static_cast<std::size_t>(t) >= n_vocab) return admission::invalid_token;
    }
    if (r.grammar && !grammar_vocab_) throw error(errc::invalid_argument, "this scheduler has no vocabulary for constrained generation");
    const std::size_t wanted = r.max_tokens < 0 ? cfg_.n_ctx : r.prompt.size() + static_cast<std::size_t>(r.max_tokens);
    if (r.prompt.size() >= max_sequence_ || wanted > max_sequence_) return admission::too_large;
    std::size_t n = outstanding_.load();
    do {
        if (n >= cfg_.parallel + cfg_.queue_size) return admission::queue_full;
    } while (!outstanding_.compare_exchange_weak(n, n + 1));
    net::post(st_->ctx, [st = st_.get(), s = std::make_unique<sequence>(std::move(job))]() mutable { st->enqueue(std::move(s)); });
    return admission::accepted;
}

scheduler::load scheduler::current_load() const {
    load l;
    {
        std::lock_guard lock(load_mutex_);
        l = load_;
    }
    // Accepted jobs not yet running are queued, including those still being posted to the strand.
    const std::size_t accepted = outstanding_.load();
    l.queued = accepted > l.running ? accepted - l.running : 0;
    return l;
}

// --- everything below runs on the strand ---

void scheduler::state::enqueue(std::unique_ptr<sequence> s) {
    if (stopping) {
        finish(*s, finish_reason::cancelled, "the server is shutting down");
        notify();
        return;
    }
    const auto& r = s->job.request;
    s->limit = r.max_tokens < 0 ? self.cfg_.n_ctx : static_cast<std::size_t>(r.max_tokens);
    try {
        if (r.grammar) s->constraint.emplace(r.grammar, self.grammar_vocab_, r.trigger);
        s->speculates = self.cfg_.speculation.enabled() && !recurrent && !s->constraint;
    } catch (const std::exception& e) {  // this job fails; the strand keeps running
        finish(*s, finish_reason::cancelled, e.what());
        notify();
        return;
    }
    waiting.push_back(std::move(s));
    publish_load();
    kick();
}

// Posting (rather than looping) lets submissions queued on the strand join between steps.
void scheduler::state::kick() {
    if (step_posted || stopping) return;
    step_posted = true;
    net::post(ctx, [this] {
        step_posted = false;
        step();
    });
}

// Nothing may throw out of a step: the strand would stop and every client would hang.
// Per-sequence failures finish their sequence where they happen (admit, run_batch); what
// escapes from the forward pass cannot be attributed and fails the sequences it computed.
void scheduler::state::step() {
    try {
        reap();
    } catch (const std::exception& e) {
        log::error(std::string("scheduler: reaping cancelled jobs failed: ") + e.what());
    }
    admit();
    publish_load();  // admissions show before the (possibly long) forward pass
    if (!running.empty()) {
        try {
            run_batch();
        } catch (const std::exception& e) {  // an engine fault fails this step's requests, not the server
            log::error(std::string("scheduler: a step failed: ") + e.what());
            for (sequence* s : batch_seqs) finish(*s, finish_reason::cancelled, e.what());
            std::erase_if(running, [](const std::unique_ptr<sequence>& s) { return s->finished; });
        }
    }
    notify();
    if (!running.empty() || !waiting.empty()) kick();
}

void scheduler::state::reap() {
    std::erase_if(waiting, [&](const std::unique_ptr<sequence>& s) {
        if (!s->job.cancelled->load()) return false;
        finish(*s, finish_reason::cancelled);
        return true;
    });
    std::erase_if(running, [&](const std::unique_ptr<sequence>& s) {
        if (!s->job.cancelled->load()) return false;
        finish(*s, finish_reason::cancelled);
        return true;
    });
}

void scheduler::state::admit() {
    while (!waiting.empty() && running.size() < self.cfg_.parallel) {
        sequence& s = *waiting.front();
        std::vector<std::uint32_t> prefix;
        try {
            if (!admit_one(s, prefix)) return;
        } catch (const std::exception& e) {  // this job fails, the queue moves on
            log::error(std::string("scheduler: admitting a job failed: ") + e.what());
            for (auto b = prefix.rbegin(); b != prefix.rend(); ++b) blocks.release(*b);
            finish(s, finish_reason::cancelled, e.what());
            waiting.pop_front();
        }
    }
}

// Admits the job at the head of the queue, or leaves it waiting (false: stop admitting);
// `prefix` holds the cached blocks acquired for it, for the caller to release on failure.
bool scheduler::state::admit_one(sequence& s, std::vector<std::uint32_t>& prefix) {
    const std::size_t bs = cache.block_size();
    if (recurrent && free_slots.empty()) return false;  // cannot happen while running.size() < parallel
    auto release_prefix = [&] {
        for (auto b = prefix.rbegin(); b != prefix.rend(); ++b) blocks.release(*b);
        prefix.clear();
    };
    // A job that wants its prompt's logprobs computes every position.
    if (!s.job.request.prompt_logprobs) prefix = blocks.acquire_prefix(s.tokens);
    std::optional<std::uint32_t> resume;  // recurrent models: the checkpoint at the prefix's end
    if ((recurrent || swa) && !prefix.empty()) {
        // Recurrent models: cached KV beyond the last saved state means this prompt branches
        // off a cached one there; computing it again, save the state at the branch so the
        // next prompt sharing that prefix resumes from it.
        const std::size_t chain = prefix.size();
        if (resumable_prefix(prefix) < chain && recurrent) s.save_at = chain * bs;
        if (recurrent && !prefix.empty()) resume = checkpoints.find(blocks.publication(prefix.back()));
    }
    if (!s.job.request.prompt_logprobs && waits_for_running_prompt(s, prefix.size())) {
        release_prefix();
        return false;  // FIFO: the jobs behind it wait too, for one prompt's computation at most
    }
    // After the shared full blocks: the longest run of a cached block's first rows that
    // continues the prompt (leaving one token to compute), copied into a block of its own.
    const std::size_t shared = prefix.size() * bs;
    block_manager::partial_match lent;
    if (!recurrent && !s.job.request.prompt_logprobs && s.tokens.size() > shared + 1) {  // no state at a lent row
        lent = blocks.best_child(prefix.empty() ? block_manager::npos : prefix.back(), std::span<const token_id>(s.tokens).subspan(shared),
                                 std::min(bs, s.tokens.size() - shared - 1));
        // Sliding-window models lend only with the lender's sliding rows (the window before
        // them is the resumed head's).
        if (swa && lent.length > 0 && !swa->can_lend(blocks.publication(lent.block))) lent = {};
        if (lent.length > 0) blocks.hold(lent.block);  // out of reach of the eviction allocate() may do
    }
    const std::size_t positions = positions_needed(s.job.request, self.cfg_.n_ctx);
    const std::size_t need = ceil_div(positions, bs) - prefix.size();
    if ((swa && !swa->fits(positions)) || !blocks.reserve(need)) {  // waits for running sequences to finish (FIFO: no overtaking)
        if (lent.length > 0) blocks.release(lent.block);
        release_prefix();
        if (!running.empty()) return false;
        // Nothing runs, so nothing will free blocks: cannot happen with the pool sized in
        // the constructor, but a job that cannot fit must fail rather than wait forever.
        finish(s, finish_reason::cancelled, "the request does not fit the KV cache");
        waiting.pop_front();
        return true;
    }
    if (swa) {
        std::vector<std::uint64_t> names(prefix.size());
        for (std::size_t j = 0; j < prefix.size(); ++j) names[j] = blocks.publication(prefix[j]);
        swa->commit(s.swa, positions);
        swa->resume(s.swa, names, prefix.size());
    }
    s.blocks = std::move(prefix);
    prefix.clear();
    s.reserved = need;
    s.n_published = s.blocks.size();
    s.n_done = shared;
    if (recurrent) {  // a slot is free: running.size() < parallel
        s.slot = free_slots.back();
        s.has_slot = true;
        free_slots.pop_back();
        if (resume) cache.state().copy(*resume, s.slot);
    }
    if (lent.length > 0) {
        s.blocks.push_back(blocks.allocate());
        --s.reserved;
        cache.copy_rows(lent.block, s.blocks.back(), lent.length);
        if (swa) swa->lend(s.swa, blocks.publication(lent.block), lent.length, cache, tf.model().layers().size());
        blocks.release(lent.block);
        s.n_done += lent.length;
    }
    if (drafter && s.speculates) {  // a slot is free: running.size() < parallel
        s.draft_slot = free_draft_slots.back();
        s.has_draft_slot = true;
        free_draft_slots.pop_back();
    }
    s.result.cached_tokens = s.n_done;
    cached_prompt_tokens += s.n_done;
    s.admitted = clock_type::now();
    running.push_back(std::move(waiting.front()));
    waiting.pop_front();
    return true;
}

// True when a running sequence still computing its prompt will publish more of `s`'s
// prompt than the cache holds now (`cached_blocks`): computing it twice would waste the
// step, so `s` waits until those blocks are published.
bool scheduler::state::waits_for_running_prompt(const sequence& s, std::size_t cached_blocks) const {
    const std::size_t bs = cache.block_size();
    for (const auto& r : running) {
        if (r->finished || r->decoding()) continue;
        // acquire_prefix always leaves s one token to compute.
        const std::size_t shared = std::min(common_prefix(s.tokens, std::span<const token_id>(r->tokens).first(r->n_prompt)), s.tokens.size() - 1);
        const std::size_t shared_blocks = shared / bs;
        if (shared_blocks > cached_blocks && r->n_done < shared_blocks * bs) return true;
    }
    return false;
}

// Shortens an acquired prefix to its longest head that can be resumed exactly (releasing the
// rest): recurrent models need the state saved at its exact end, sliding-window models the
// sliding blocks of the window before its end (sliding_blocks::resumable); nothing is
// resumed without them. Returns the blocks kept.
std::size_t scheduler::state::resumable_prefix(std::vector<std::uint32_t>& prefix) {
    std::size_t keep = prefix.size();
    if (swa) {
        std::vector<std::uint64_t> names(prefix.size());
        for (std::size_t j = 0; j < prefix.size(); ++j) names[j] = blocks.publication(prefix[j]);
        keep = swa->resumable(names);
    }
    while (recurrent && keep > 0 && !checkpoints.contains(blocks.publication(prefix[keep - 1]))) --keep;
    while (prefix.size() > keep) {
        blocks.release(prefix.back());
        prefix.pop_back();
    }
    return keep;
}

// Recurrent models: after a step that left `s` exactly at a block boundary, saves its state
// under the publication id of the cached chain holding its tokens so far (state_checkpoints.hpp;
// the chain may be another sequence's, computed alike). While decoding, a sequence keeps only
// its latest such state (the one the next turn of a conversation can resume from), so a long
// generation does not push the prompts' states out.
void scheduler::state::save_checkpoint(sequence& s) {
    const std::size_t bs = cache.block_size();
    if (!recurrent || s.n_done == 0 || s.n_done % bs != 0) return;
    const std::uint64_t id = blocks.chain_id(std::span<const token_id>(s.tokens).first(s.n_done));
    if (id == 0 || checkpoints.contains(id)) return;  // no chain to key it by, or saved already
    if (s.n_done > s.n_prompt) {
        if (s.decode_saved != 0) checkpoints.erase(s.decode_saved);
        s.decode_saved = id;
    }
    if (const auto slot = checkpoints.put(id)) cache.state().copy(s.slot, *slot);
}

void scheduler::state::ensure_blocks(sequence& s, std::size_t positions) {
    while (s.blocks.size() * cache.block_size() < positions) {
        if (s.reserved == 0) throw error(errc::out_of_range, "scheduler: a sequence outgrew its KV reservation");
        s.blocks.push_back(blocks.allocate());
        --s.reserved;
    }
    if (swa) swa->ensure(s.swa, positions);
}

// The name of a sequence's sliding block j (sliding_blocks.hpp): the publication id of the
// cached chain holding its tokens up to the block's end -- its own main block j, or the
// chain another sequence published first (its own then stays private); 0 when none does.
std::uint64_t scheduler::state::block_name(const sequence& s, std::size_t j) const {
    if (const std::uint64_t own = blocks.publication(s.blocks[j]); own != 0) return own;
    return blocks.chain_id(std::span<const token_id>(s.tokens).first((j + 1) * cache.block_size()));
}

void scheduler::state::run_batch() {
    propose_drafts();
    std::size_t n_decode = 0;  // rows of decoding sequences: one each, plus forced tokens
    for (const auto& s : running) n_decode += s->decoding() ? s->pending() : 0;
    // Prompt work per step is capped while anyone decodes, so running streams keep flowing.
    std::size_t budget = std::min(n_decode > 0 ? self.cfg_.prefill_chunk : tf.max_batch(), tf.max_batch() - n_decode);
    batch.clear();
    batch_seqs.clear();
    std::size_t n_logits = 0;
    for (const auto& sp : running) {
        sequence& s = *sp;
        std::size_t n = s.pending();  // decoding: the sampled token and any forced ones
        const bool prompt_lp = !s.decoding() && s.job.request.prompt_logprobs;
        if (!s.decoding()) {
            n = std::min({s.n_prompt - s.n_done, budget, prompt_lp ? k_prompt_logit_rows : budget});
            // Recurrent models: a chunk that crosses a block boundary stops at the last one
            // it crosses (first at save_at, a branch point), so the state there can be saved
            // for the prefix cache.
            if (const std::size_t bs = cache.block_size(), edge = (s.n_done + n) / bs * bs;
                recurrent && s.n_done + n > edge && edge > s.n_done && !prompt_lp) {
                n = edge - s.n_done;
            }
            if (recurrent && s.save_at > s.n_done && s.save_at < s.n_done + n) n = s.save_at - s.n_done;
            if (swa) n = std::min(n, sliding_pass(tf.model(), self.cfg_));  // the pass sliding_blocks' caps assume
            if (n == 0) continue;
            budget -= n;
        }
        try {
            ensure_blocks(s, s.n_done + n);
        } catch (const std::exception& e) {  // this sequence's accounting: it fails alone
            finish(s, finish_reason::cancelled, e.what());
            continue;
        }
        const bool ends_prompt = s.decoding() || s.n_done + n == s.n_prompt;
        const std::size_t rows = prompt_lp || !s.draft.empty() ? n : ends_prompt ? 1 : 0;
        batch.push_back({std::span<const token_id>(s.tokens).subspan(s.n_done, n), s.n_done, s.blocks, rows, s.slot, s.swa.blocks});
        batch_seqs.push_back(&s);
        n_logits += rows;
    }
    if (batch.empty()) {  // every candidate failed its accounting
        std::erase_if(running, [](const std::unique_ptr<sequence>& s) { return s->finished; });
        return;
    }
    const std::size_t n_vocab = tf.model().n_vocab();
    logits.resize(std::max<std::size_t>(1, n_logits) * n_vocab);
    tf.forward_batch(batch, cache, logits.data());
    // Each entry's rows are its last n_logits positions; the last one predicts the token after
    // the entry (sampled when the entry ends the prompt or decodes) -- with a draft, the row
    // before the draft is sampled first, and the drafts leave the tokens (the history the
    // samplers see) until the walk accepts them.
    sample_rows.assign(batch.size(), nullptr);
    float* row = logits.data();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        sequence& s = *batch_seqs[i];
        const std::size_t n = batch[i].tokens.size();
        if (batch[i].n_logits > 0 && (s.decoding() || s.n_done + n == s.n_prompt)) {
            sample_rows[i] = row + (batch[i].n_logits - 1 - s.draft.size()) * n_vocab;
        }
        s.tokens.resize(s.tokens.size() - s.draft.size());
        row += batch[i].n_logits * n_vocab;
    }
    mask_rows();
    sample_rows_on_pool();
    row = logits.data();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        sequence& s = *batch_seqs[i];
        const std::size_t n = batch[i].tokens.size();
        // A failure in one sequence's own work (its callbacks, its grammar, its sampling)
        // finishes that sequence only.
        try {
            if (!s.decoding() && s.job.request.prompt_logprobs) prompt_rows(s, batch[i].pos0, n, row);
            after_forward(s, n, sample_rows[i]);
        } catch (const std::exception& e) {
            finish(s, finish_reason::cancelled, e.what());
        }
        row += batch[i].n_logits * n_vocab;
    }
    std::erase_if(running, [](const std::unique_ptr<sequence>& s) { return s->finished; });
}

// Masks the logits rows of constrained sequences across the pool before sampling (each
// sequence's matcher is its own; the grammar's shared caches are thread-safe), so several
// constrained streams do not pay for their masks one after another on this thread.
void scheduler::state::mask_rows() {
    mask_jobs.clear();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (sample_rows[i] == nullptr) continue;
        sequence& s = *batch_seqs[i];
        if (s.constraint && s.constraint->active() && !s.constraint->must_end()) mask_jobs.push_back({&s, sample_rows[i]});
    }
    if (mask_jobs.size() < 2) return;  // one row: after_forward masks it inline
    pool.run(mask_jobs.size(), [this](std::size_t j) {
        sequence& s = *mask_jobs[j].first;
        try {
            s.masked = s.constraint->mask_logits(std::span<float>(mask_jobs[j].second, tf.model().n_vocab())) ? 1 : 0;
        } catch (const std::exception& e) {  // a grammar too ambiguous here: this sequence fails, not the batch
            s.masked = 2;
            s.grammar_error = e.what();
        }
    });
}

// Samples every row whose sequence needs no more grammar work first (unconstrained, or
// masked by mask_rows) across the pool: each sequence's sampler is its own and writes only
// its own row and `picked`. The bookkeeping stays with after_forward, in batch order.
void scheduler::state::sample_rows_on_pool() {
    sample_jobs.clear();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (sample_rows[i] == nullptr) continue;
        sequence& s = *batch_seqs[i];
        s.picked.reset();
        s.sample_error.clear();
        s.lp_error.clear();
        if (s.constraint && (s.masked != 1 || s.constraint->must_end())) continue;
        const auto& r = s.job.request;
        if ((r.logprobs || r.top_logprobs > 0) && r.sampling.temperature > 0 && !s.smp.edits_logits()) {
            sample_jobs.push_back({&s, sample_rows[i], 1});
            sample_jobs.push_back({&s, sample_rows[i], 2});
        } else {
            sample_jobs.push_back({&s, sample_rows[i], 0});
        }
    }
    if (sample_jobs.size() < 2) return;  // one row: after_forward samples it inline
    const std::size_t n_vocab = tf.model().n_vocab();
    pool.run(sample_jobs.size(), [this, n_vocab](std::size_t j) {
        const sample_job& job = sample_jobs[j];
        sequence& s = *job.s;
        const std::span<float> row(job.row, n_vocab);
        try {
            if (job.part == 0) s.picked = pick_token(s.job.request, s.smp, row, s.tokens);
            if (job.part == 1) s.pool_id = s.smp.sample(row, s.tokens);
            if (job.part == 2) s.pool_lp = logprobs_of(s.job.request, row);
        } catch (const std::exception& e) {
            (job.part == 2 ? s.lp_error : s.sample_error) = e.what();  // the halves write distinct fields
        }
    });
    for (const sample_job& job : sample_jobs) {
        sequence& s = *job.s;
        if (job.part != 2) continue;
        if (s.sample_error.empty()) s.sample_error = std::exchange(s.lp_error, {});
        if (!s.sample_error.empty()) continue;
        s.picked = token_with_logprobs(s.job.request, s.smp, std::span<const float>(job.row, n_vocab), s.pool_id, std::move(s.pool_lp));
    }
}

// Reduces the logits rows of prompt positions [pos0, pos0 + n) to the logprob of the prompt
// token each predicts (and the request's alternatives), from the raw logits; hands the list
// to on_prompt once the prompt is complete.
void scheduler::state::prompt_rows(sequence& s, std::size_t pos0, std::size_t n, const float* rows) {
    const std::size_t n_vocab = tf.model().n_vocab();
    const std::size_t k = *s.job.request.prompt_logprobs;
    for (std::size_t j = 0; j < n; ++j) {
        const std::size_t next = pos0 + j + 1;
        if (next >= s.n_prompt) break;
        const std::span<const float> row(rows + j * n_vocab, n_vocab);
        auto top = top_logprobs(row, std::max<std::size_t>(k, 1));
        const float log_z = row[static_cast<std::size_t>(top.front().id)] - top.front().logprob;
        const token_id id = s.tokens[next];
        if (top.size() > k) top.resize(k);
        s.prompt_lp.push_back({id, row[static_cast<std::size_t>(id)] - log_z, std::move(top)});
    }
    if (pos0 + n == s.n_prompt && s.job.on_prompt) s.job.on_prompt(std::move(s.prompt_lp));
}

// Books n computed positions and samples the next token when logits came out (the row is
// this sequence's own; sampling edits it in place). A drafting sequence walks its rows:
// each accepted draft token books one more position (speculation.hpp).
void scheduler::state::after_forward(sequence& s, std::size_t n, float* row) {
    if (s.draft.empty()) {  // a drafting sequence decodes: it always has rows
        book(s, n);
        if (row != nullptr) emit(s, row);
        return;
    }
    const std::size_t n_vocab = tf.model().n_vocab();
    book(s, 1);  // the last sampled token
    const std::size_t accepted = walk_draft(s.draft, [&](std::size_t j) -> std::optional<token_id> {
        if (j > 0) book(s, 1);  // draft[j - 1], accepted
        if (!emit(s, row + j * n_vocab)) return std::nullopt;
        return s.tokens.back();
    });
    spec_stats.drafted += s.draft.size();
    spec_stats.accepted += accepted;
    s.draft.clear();
    if (!s.finished) return_spare_blocks(s);
}

// Books n computed positions and offers newly filled blocks to the prefix cache.
void scheduler::state::book(sequence& s, std::size_t n) {
    const std::size_t bs = cache.block_size();
    s.n_done += n;
    for (; (s.n_published + 1) * bs <= s.n_done; ++s.n_published) {
        const std::uint32_t parent = s.n_published == 0 ? block_manager::npos : s.blocks[s.n_published - 1];
        blocks.publish(s.blocks[s.n_published], parent, std::span<const token_id>(s.tokens).subspan(s.n_published * bs, bs));
    }
    save_checkpoint(s);
    if (swa) swa->advance(s.swa, s.n_done, [&](std::size_t j) { return block_name(s, j); });
}

// Samples the token after a logits row and hands it on; false when the sequence finished.
bool scheduler::state::emit(sequence& s, float* row) {
    if (s.result.tokens.empty()) s.first_token = clock_type::now();
    const std::span<float> own(row, tf.model().n_vocab());
    if (s.constraint) {
        try {
            if (s.constraint->must_end()) return ended(s, finish_reason::stop);  // complete, nothing may follow
            if (s.masked == 2) throw std::runtime_error(s.grammar_error);
            const bool allowed = s.masked >= 0 ? s.masked == 1 : s.constraint->mask_logits(own);
            s.masked = -1;
            if (!allowed) return ended(s, finish_reason::cancelled, std::string(k_grammar_error_prefix) + "no token is allowed here");
        } catch (const std::exception& e) {
            return ended(s, finish_reason::cancelled, std::string(k_grammar_error_prefix) + e.what());
        }
    }
    if (!s.sample_error.empty()) return ended(s, finish_reason::cancelled, std::exchange(s.sample_error, {}));
    const generated_token t = s.picked ? *std::exchange(s.picked, std::nullopt) : pick_token(s.job.request, s.smp, own, s.tokens);
    if (voc.is_eog(t.id) && (!s.job.request.ignore_eos || s.constraint)) return ended(s, finish_reason::stop);
    if (s.constraint) {
        try {
            if (!s.constraint->accept(t.id)) {
                return ended(s, finish_reason::cancelled, std::string(k_grammar_error_prefix) + "the sampled token broke it");
            }
        } catch (const std::exception& e) {
            return ended(s, finish_reason::cancelled, std::string(k_grammar_error_prefix) + e.what());
        }
    }
    s.tokens.push_back(t.id);
    s.result.tokens.push_back(t.id);
    if (s.job.request.top_logprobs > 0) s.result.top_logprobs.push_back(t.top);
    if (s.job.cancelled->load() || (s.job.on_token && !s.job.on_token(t))) return ended(s, finish_reason::cancelled);
    if (s.result.tokens.size() >= s.limit || s.n_done >= self.cfg_.n_ctx) return ended(s, finish_reason::length);
    if (!s.constraint) return true;
    try {
        append_forced(s);
    } catch (const std::exception& e) {
        finish(s, finish_reason::cancelled, std::string(k_grammar_error_prefix) + e.what());
    }
    return !s.finished;
}

// Drafts for the decoding sequences that speculate, appended to their tokens for this step's
// batch. A draft leaves the tokens one step may take for the other decoding rows and one
// prompt chunk, stays short of max_tokens (the row after it samples the last token) and
// within the context; the job's reservation (prompt + max_tokens) covers it.
// With a draft model, a sequence's slot also computes its prompt beside the target's chunks
// (catch-up: prefill_chunk tokens per step in all while anyone decodes, as the target's
// prompts; the draft model being the smaller, it keeps up), and
// drafts once it has caught up; all drafting sequences draft together, one batched
// draft-model pass per draft token (model_drafter.hpp).
void scheduler::state::propose_drafts() {
    const speculation_config& spec = self.cfg_.speculation;
    if (!spec.enabled()) return;
    std::size_t rows = 0;
    for (const auto& s : running) rows += s->decoding() ? s->pending() : 0;
    const std::size_t used = rows + self.cfg_.prefill_chunk;
    std::size_t room = tf.max_batch() > used ? tf.max_batch() - used : 0;
    draft_requests.clear();
    for (const auto& sp : running) {
        sequence& s = *sp;
        if (!s.speculates) continue;
        if (drafter && !s.decoding()) {
            draft_requests.push_back({s.draft_slot, std::span<const token_id>(s.tokens).first(s.n_prompt), 0, nullptr});
            continue;
        }
        if (room == 0 || !s.decoding() || s.pending() != 1) continue;
        const std::size_t generated = s.result.tokens.size(), n_ctx = self.cfg_.n_ctx;
        const std::size_t room_len = s.limit > generated + 1 ? s.limit - generated - 1 : 0;
        const std::size_t room_ctx = n_ctx > s.tokens.size() ? n_ctx - s.tokens.size() : 0;
        const std::size_t max = std::min({spec.max_draft, room_len, room_ctx, room});
        if (drafter) {
            if (max > 0) draft_requests.push_back({s.draft_slot, s.tokens, max, &s.draft});
            room -= max;
            continue;
        }
        const std::size_t k = lookup_draft(s.tokens, spec.ngram, max, s.draft);
        s.tokens.insert(s.tokens.end(), s.draft.begin(), s.draft.end());
        room -= k;
    }
    if (draft_requests.empty()) return;
    // Catch-up takes what the target's prompts may take this step: a chunk while anyone decodes.
    drafter->draft(draft_requests, rows > 0 ? self.cfg_.prefill_chunk : tf.max_batch());
    for (const auto& sp : running) sp->tokens.insert(sp->tokens.end(), sp->draft.begin(), sp->draft.end());
}

// After a walk: blocks past those the sequence's next step can need (its tokens so far) held
// only rejected rows; they go back to the pool and the job's reservation.
void scheduler::state::return_spare_blocks(sequence& s) {
    const std::size_t keep = ceil_div(s.tokens.size(), cache.block_size());
    while (s.blocks.size() > keep) {
        blocks.release(s.blocks.back());
        s.blocks.pop_back();
        if (!blocks.reserve(1)) throw error(errc::invalid_argument, "scheduler: a returned block could not be reserved again");
        ++s.reserved;
    }
}

// Fast-forward: when the grammar admits exactly one continuation for the next bytes (a
// key after '{', the '":' after it), its tokens are appended without sampling and computed
// with the next step. The bytes are tokenized as the tokenizer would tokenize them on their
// own, and the last token is left to the model (it could merge with what follows), so the
// output stays a tokenization the model could have produced. A forced token is reported
// with log-probability 0 (the grammar left no other choice).
void scheduler::state::append_forced(sequence& s) {
    const std::string bytes = s.constraint->forced_bytes();
    if (bytes.size() < 2) return;
    std::vector<token_id> ids = self.tok_->tokenize(bytes, false, false);
    ids.pop_back();
    if (ids.size() > max_forced) ids.resize(max_forced);
    for (const token_id id : ids) {
        if (s.result.tokens.size() + 1 >= s.limit || s.tokens.size() + 1 >= self.cfg_.n_ctx) return;
        if (!s.constraint->accept(id)) return;  // not the bytes' own tokens after all: sample instead
        generated_token t{id, 0.0f, {}};
        if (s.job.request.top_logprobs > 0) t.top.push_back({id, 0.0f});
        s.tokens.push_back(id);
        s.result.tokens.push_back(id);
        if (s.job.request.top_logprobs > 0) s.result.top_logprobs.push_back(t.top);
        ++s.result.forced_tokens;
        if (s.job.on_token && !s.job.on_token(t)) return finish(s, finish_reason::cancelled);
    }
}

// Releases the sequence's blocks and reservation and reports it, once. The caller
// drops the finished sequence from `running` or `waiting`.
void scheduler::state::finish(sequence& s, finish_reason why, const std::string& err) {
    if (s.finished) return;
    s.finished = true;
    // The partly filled last block is offered too: its rows can start another prompt.
    if (const std::size_t full = s.n_done / cache.block_size(); s.n_done % cache.block_size() != 0 && full < s.blocks.size() && s.n_published == full) {
        blocks.publish(s.blocks[full], full == 0 ? block_manager::npos : s.blocks[full - 1],
                       std::span<const token_id>(s.tokens).subspan(full * cache.block_size(), s.n_done % cache.block_size()));
        if (swa) swa->publish_partial(s.swa, full, blocks.publication(s.blocks[full]));
    }
    for (auto b = s.blocks.rbegin(); b != s.blocks.rend(); ++b) blocks.release(*b);  // leaf first: roots stay cached longest
    s.blocks.clear();
    if (swa) swa->release(s.swa);
    if (s.has_slot) free_slots.push_back(s.slot);
    s.has_slot = false;
    if (s.has_draft_slot) free_draft_slots.push_back(s.draft_slot);  // its rows stay, reused for a shared prefix
    s.has_draft_slot = false;
    blocks.unreserve(s.reserved);
    s.reserved = 0;
    s.result.finish = why;
    const auto now = clock_type::now();
    if (!s.result.tokens.empty()) {
        s.result.prompt_seconds = std::chrono::duration<double>(s.first_token - s.admitted).count();
        s.result.generation_seconds = std::chrono::duration<double>(now - s.first_token).count();
    }
    self.outstanding_.fetch_sub(1);  // before on_done: a client told "done" may submit again at once
    if (s.job.on_done) {
        done_calls.push_back([f = std::move(s.job.on_done), r = err.empty() ? std::move(s.result) : generation_result{}, err] { f(r, err); });
    }
}

void scheduler::state::notify() {
    try {
        publish_load();
    } catch (const std::exception& e) {
        log::error(std::string("scheduler: publishing the load failed: ") + e.what());
    }
    for (auto& call : done_calls) {
        try {  // a throwing on_done is its own job's problem; the others are still told
            call();
        } catch (const std::exception& e) {
            log::error(std::string("scheduler: a job's completion callback threw: ") + e.what());
        }
    }
    done_calls.clear();
}

void scheduler::state::shutdown() {
    stopping = true;
    for (auto& s : running) finish(*s, finish_reason::cancelled, "the server is shutting down");
    for (auto& s : waiting) finish(*s, finish_reason::cancelled, "the server is shutting down");
    running.clear();
    waiting.clear();
    notify();
    work.reset();
}

void scheduler::state::publish_load() {
    std::lock_guard lock(self.load_mutex_);
    self.load_ = {running.size(), waiting.size(), blocks.n_blocks(), blocks.used(), blocks.cached(), cached_prompt_tokens, spec_stats};
    if (swa) {
        self.load_.swa_blocks = swa->n_blocks();
        self.load_.swa_used = swa->used();
        self.load_.swa_cached = swa->cached();
    }
}

}  // namespace sluice::engine
