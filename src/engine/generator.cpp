#include "sluice/engine/generator.hpp"

#include <chrono>

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

generator::generator(const llm_model& m, const vocab& v, thread_pool& pool, std::size_t n_ctx, kv_precision precision)
    : vocab_(v), tf_(m, pool), cache_(m, n_ctx, precision) {
    check_vocabulary(m, v);
}

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
    tf_.forward(req.prompt, cache_, logits_);
    const auto t1 = clock::now();
    res.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

    const std::size_t limit = req.max_tokens < 0 ? cache_.n_ctx() : static_cast<std::size_t>(req.max_tokens);
    res.finish = finish_reason::length;
    while (res.tokens.size() < limit) {
        const generated_token step = pick_token(req, smp, logits_, history);
        const token_id next = step.id;
        if (!req.ignore_eos && vocab_.is_eog(next)) {
            res.finish = finish_reason::stop;
            break;
        }
        if (req.top_logprobs > 0) res.top_logprobs.push_back(step.top);
        res.tokens.push_back(next);
        history.push_back(next);
        if (on_token && !on_token(step)) {
            res.finish = finish_reason::cancelled;
            break;
        }
        if (res.tokens.size() == limit) break;
        if (cache_.size() >= cache_.n_ctx()) break;  // context full: finish = length
        const token_id one[1] = {next};
        tf_.forward(one, cache_, logits_);
    }
    res.generation_seconds = std::chrono::duration<double>(clock::now() - t1).count();
    return res;
}

}  // namespace sluice::engine
