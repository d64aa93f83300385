#include "sluice/engine/generator.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "sluice/engine/model_drafter.hpp"
#include "sluice/util/error.hpp"

namespace sluice::engine {

const char* to_string(finish_reason r) noexcept {
    switch (r) {
        case finish_reason::stop: return "stop";
        case finish_reason::length: return "length";
        case finish_reason::cancelled: return "cancelled";
    }
    return "?";
}

generated_token pick_token(const generation_request& req, sampler& smp, std::span<float> logits, std::span<const token_id> history) {
    raw_logprobs lp = logprobs_of(req, logits);
    const token_id id = smp.sample(logits, history);
    return token_with_logprobs(req, smp, logits, id, std::move(lp));
}

raw_logprobs logprobs_of(const generation_request& req, std::span<const float> logits) {
    raw_logprobs lp;
    if (req.top_logprobs > 0 || req.logprobs) lp.z = log_softmax_normalizer(logits);
    if (req.top_logprobs > 0) lp.top = top_logprobs(logits, req.top_logprobs, lp.z);
    return lp;
}

generated_token token_with_logprobs(const generation_request& req, const sampler& smp, std::span<const float> logits, token_id id, raw_logprobs lp) {
    generated_token step;
    step.id = id;
    step.top = std::move(lp.top);
    if (req.logprobs) {
        // log Z as top1 logit - top1 logprob, the rounding the reported top list shows.
        const float log_z = lp.z.max - (lp.z.max - lp.z.log_z);
        step.logprob = smp.original_logit(logits, id) - log_z;
    }
    return step;
}

void check_vocabulary(const llm_model& m, const vocab& v) {
    if (v.size() != m.n_vocab()) {
        throw error(errc::invalid_argument, "the model file is inconsistent: its tokenizer has " + std::to_string(v.size()) +
                                                " tokens but the model outputs " + std::to_string(m.n_vocab()) + " logits");
    }
}

generator::generator(const llm_model& m, const vocab& v, thread_pool& pool, std::size_t n_ctx, kv_precision precision,
                     speculation_config speculation)
    : vocab_(v), tf_(m, pool), cache_(m, n_ctx, precision), spec_(speculation) {
    check_vocabulary(m, v);
    if (spec_.enabled() && spec_.draft_model != nullptr) {
        if (m.has_recurrent_layers()) {
            throw error(errc::unsupported, "speculative decoding: the model has recurrent layers, whose state cannot forget rejected drafts");
        }
        drafter_ = std::make_unique<model_drafter>(*spec_.draft_model, pool, 1, n_ctx, spec_, m.n_vocab());
    }
    if (m.has_recurrent_layers()) spec_.max_draft = 0;  // its state cannot forget rejected drafts
}

generator::~generator() = default;

generation_result generator::generate(const generation_request& req, const std::function<bool(const generated_token&)>& on_token) {
    using clock = std::chrono::steady_clock;
    if (req.prompt.empty()) throw error(errc::invalid_argument, "the prompt has no tokens");
    // Constrained generation lives in the scheduler (engine/token_constraint.hpp); this
    // one-sequence loop refuses a grammar rather than ignore it.
    if (req.grammar) throw error(errc::unsupported, "grammars are applied by the scheduler, not by engine::generator");
    if (req.prompt_logprobs) throw error(errc::unsupported, "prompt logprobs are computed by the scheduler, not by engine::generator");
    if (req.prompt.size() >= cache_.n_ctx()) {
        throw error(errc::out_of_range, "the prompt (" + std::to_string(req.prompt.size()) +
                                            " tokens) does not fit the context size of " + std::to_string(cache_.n_ctx()));
    }
    generation_result res;
    sampler smp(req.sampling);
    std::vector<token_id> history = req.prompt;
    cache_.clear();

    const auto t0 = clock::now();
    tf_.set_matmul_policy(matmul_policy::fastest);
    tf_.forward(req.prompt, cache_, logits_);
    if (drafter_) {  // the draft model's prompt too, before the first token
        const draft_request r{0, req.prompt, 0, nullptr};
        drafter_->draft({&r, 1}, req.prompt.size());
    }
    // Decode steps verify drafts: rows that must equal one-token decoding (speculation.hpp).
    if (spec_.enabled()) tf_.set_matmul_policy(matmul_policy::batch_invariant);
    const auto t1 = clock::now();
    res.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

    const std::size_t limit = req.max_tokens < 0 ? cache_.n_ctx() : static_cast<std::size_t>(req.max_tokens);
    const std::size_t n_vocab = vocab_.size();
    res.finish = finish_reason::length;
    input_.clear();  // logits_ holds one row per input_ token: the prompt's last row now
    bool more = limit > 0;
    while (more) {
        const std::span<const token_id> draft = input_.empty() ? std::span<const token_id>() : std::span<const token_id>(input_).subspan(1);
        // Row j: the logits after the input's first j + 1 tokens; cache_.size() counts them all.
        const std::size_t accepted = walk_draft(draft, [&](std::size_t j) -> std::optional<token_id> {
            const std::span<float> row(logits_.data() + j * n_vocab, n_vocab);
            const generated_token step = pick_token(req, smp, row, history);
            more = false;
            if (!req.ignore_eos && vocab_.is_eog(step.id)) {
                res.finish = finish_reason::stop;
                return std::nullopt;
            }
            if (req.top_logprobs > 0) res.top_logprobs.push_back(step.top);
            res.tokens.push_back(step.id);
            history.push_back(step.id);
            if (on_token && !on_token(step)) {
                res.finish = finish_reason::cancelled;
                return std::nullopt;
            }
            if (res.tokens.size() == limit) return std::nullopt;
            if (cache_.size() - (draft.size() - j) >= cache_.n_ctx()) return std::nullopt;  // context full: finish = length
            more = true;
            return step.id;
        });
        stats_.drafted += draft.size();
        stats_.accepted += accepted;
        cache_.truncate(cache_.size() - (draft.size() - accepted));
        if (!more) break;
        next_input(req, history, res.tokens.size());
        tf_.forward(input_, cache_, logits_, input_.size() > 1);
    }
    res.generation_seconds = std::chrono::duration<double>(clock::now() - t1).count();
    return res;
}

void generator::next_input(const generation_request& req, std::span<const token_id> history, std::size_t n_generated) {
    input_.assign(1, history.back());
    if (!spec_.enabled()) return;
    // The draft never reaches past max_tokens (the bonus row samples the last token) or the context.
    const std::size_t limit = req.max_tokens < 0 ? cache_.n_ctx() : static_cast<std::size_t>(req.max_tokens);
    const std::size_t room_len = limit > n_generated + 1 ? limit - n_generated - 1 : 0;
    const std::size_t room_ctx = cache_.n_ctx() > cache_.size() + 1 ? cache_.n_ctx() - cache_.size() - 1 : 0;
    const std::size_t max = std::min({spec_.max_draft, room_len, room_ctx});
    if (max == 0) return;
    if (!drafter_) {
        lookup_draft(history, spec_.ngram, max, input_);
        return;
    }
    // The whole history at once the first time (the prompt), its new tokens later.
    const draft_request r{0, history, max, &input_};
    drafter_->draft({&r, 1}, history.size());
}

}  // namespace sluice::engine
