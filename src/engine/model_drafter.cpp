#include "sluice/engine/model_drafter.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "sluice/util/error.hpp"

namespace sluice::engine {
namespace {

// A slot at most this many tokens behind its history catches up inside the first draft
// step (one forward pass for both) rather than in a pass of its own: after a step the slot
// lacks the accepted drafts it had not fed (at most one) and the target's own last token.
constexpr std::size_t k_merged_catch_up = 16;

// Tokens of one draft-model pass at most.
constexpr std::size_t k_draft_batch = 512;

std::string id_text(token_id id) { return id == no_token ? "none" : std::to_string(id); }

}  // namespace

void check_draft_vocabulary(const vocab& target, const vocab& draft) {
    const auto refuse = [](const std::string& what) {
        throw error(errc::invalid_argument, "the draft model's vocabulary is not the target model's: " + what);
    };
    if (target.kind() != draft.kind() || target.model_name() != draft.model_name()) {
        refuse("tokenizer '" + draft.model_name() + "' against the target's '" + target.model_name() + "'");
    }
    const auto &ts = target.special(), &ds = draft.special();
    if (ts.bos != ds.bos || ts.eos != ds.eos) {
        refuse("BOS/EOS " + id_text(ds.bos) + "/" + id_text(ds.eos) + " against the target's " + id_text(ts.bos) + "/" + id_text(ts.eos));
    }
    if (target.flags().add_bos != draft.flags().add_bos || target.flags().add_eos != draft.flags().add_eos) {
        refuse("it adds BOS/EOS to a prompt differently");
    }
    const std::size_t nt = target.size(), nd = draft.size();
    if ((nt > nd ? nt - nd : nd - nt) > k_draft_vocab_slack) {
        refuse(std::to_string(nd) + " tokens against the target's " + std::to_string(nt) + " (they may differ by " +
               std::to_string(k_draft_vocab_slack) + " at most)");
    }
    for (std::size_t i = 0; i < std::min(nt, nd); ++i) {
        const auto id = static_cast<token_id>(i);
        if (target.token(id).text != draft.token(id).text) {
            refuse("token " + std::to_string(i) + " is '" + draft.token(id).text + "' there and '" + target.token(id).text + "' in the target");
        }
    }
}

model_drafter::model_drafter(const llm_model& draft, thread_pool& pool, std::size_t slots, std::size_t n_ctx, const speculation_config& cfg,
                             std::size_t target_vocab)
    : m_(draft),
      tf_(draft, pool, k_draft_batch, matmul_policy::fastest),
      cache_(draft, kv_blocks{std::max<std::size_t>(slots, 1), n_ctx, 1, 0}),
      cfg_(cfg),
      target_vocab_(target_vocab),
      fed_(std::max<std::size_t>(slots, 1)),
      tables_(fed_.size()) {
    if (draft.has_recurrent_layers()) {
        throw error(errc::unsupported, "the draft model has recurrent layers: its state cannot be rolled back to the accepted tokens; "
                                       "use a draft model without them");
    }
    for (std::size_t i = 0; i < tables_.size(); ++i) tables_[i] = static_cast<std::uint32_t>(i);
}

std::size_t model_drafter::kv_bytes(const llm_model& draft, std::size_t slots, std::size_t n_ctx) noexcept {
    return kv_cache::block_bytes(draft, n_ctx, kv_precision::f16) * slots;
}

// Keeps the slot's longest prefix that the history shares (at most all but its last token,
// whose logits the draft needs); returns the tokens the slot then lacks, or 0 when the
// history holds a token the draft model does not know (no drafting over it).
std::size_t model_drafter::roll_back(const draft_request& r) {
    if (r.slot >= fed_.size()) throw error(errc::out_of_range, "model_drafter: slot " + std::to_string(r.slot) + " does not exist");
    auto& f = fed_[r.slot];
    const std::size_t n = r.history.size();
    const std::size_t limit = std::min(f.size(), n > 0 ? n - 1 : 0);
    std::size_t keep = 0;
    while (keep < limit && f[keep] == r.history[keep]) ++keep;
    f.resize(keep);
    const std::size_t n_vocab = m_.n_vocab();
    for (std::size_t i = keep; i < n; ++i) {
        if (r.history[i] < 0 || static_cast<std::size_t>(r.history[i]) >= n_vocab) return 0;
    }
    return n - keep;
}

std::size_t model_drafter::draft(std::span<const draft_request> requests, std::size_t catch_up_budget) {
    std::size_t computed = 0;
    for (const auto& r : requests) roll_back(r);
    computed += catch_up(requests, catch_up_budget);
    computed += draft_rounds(requests);
    return computed;
}

// Computes the history (but its last token) of the slots too far behind to catch up inside
// the first draft step, `budget` tokens at most, in passes of k_draft_batch.
std::size_t model_drafter::catch_up(std::span<const draft_request> requests, std::size_t budget) {
    std::size_t computed = 0;
    std::vector<std::uint32_t> slots;
    while (budget > 0) {
        batch_.clear();
        slots.clear();
        std::size_t rows = 0;
        for (const auto& r : requests) {
            const std::size_t n = r.history.size(), done = fed_[r.slot].size();
            if (n == 0 || n > cache_.block_size() || done + 1 >= n) continue;
            if (r.max > 0 && n - done <= k_merged_catch_up) continue;  // the first draft step takes it
            if (roll_back(r) == 0) continue;                              // a token the draft model lacks
            const std::size_t take = std::min({n - 1 - done, budget, k_draft_batch - rows});
            if (take == 0) break;
            batch_.push_back({r.history.subspan(done, take), done, std::span<const std::uint32_t>(&tables_[r.slot], 1), 0});
            slots.push_back(r.slot);
            rows += take;
            budget -= take;
        }
        if (batch_.empty()) break;
        logits_.resize(m_.n_vocab());
        tf_.set_matmul_policy(matmul_policy::fastest);  // prompt-sized passes: the GEMM
        tf_.forward_batch(batch_, cache_, logits_.data());
        for (std::size_t i = 0; i < batch_.size(); ++i) {
            fed_[slots[i]].insert(fed_[slots[i]].end(), batch_[i].tokens.begin(), batch_[i].tokens.end());
        }
        computed += rows;
    }
    return computed;
}

// The greedy drafts, one batched pass per draft token: the first pass feeds each drafting
// slot the history it still lacks (its last token at least), later ones the token drafted last.
std::size_t model_drafter::draft_rounds(std::span<const draft_request> requests) {
    const std::size_t n_vocab = m_.n_vocab(), n_ctx = cache_.block_size();
    std::vector<std::size_t> produced(requests.size(), 0), wanted(requests.size(), 0);
    active_.clear();
    std::size_t rows = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& r = requests[i];
        const std::size_t n = r.history.size(), done = fed_[r.slot].size();
        if (r.max == 0 || r.draft == nullptr || n == 0 || n > n_ctx || n - done > k_merged_catch_up) continue;
        if (roll_back(r) == 0 || rows + (n - done) > k_draft_batch) continue;
        // Positions fed stay within the slot: the history's and all drafts but the last.
        wanted[i] = std::min(r.max, n_ctx + 1 - n);
        rows += n - done;
        active_.push_back(i);
    }
    std::size_t computed = 0;
    for (bool first = true; !active_.empty(); first = false) {
        batch_.clear();
        for (const std::size_t i : active_) {
            const auto& r = requests[i];
            const std::size_t done = fed_[r.slot].size();
            const auto tokens = first ? r.history.subspan(done) : std::span<const token_id>(*r.draft).last(1);
            batch_.push_back({tokens, done, std::span<const std::uint32_t>(&tables_[r.slot], 1), 1});
        }
        logits_.resize(active_.size() * n_vocab);
        // A token or a few per slot: row by row (the GEMM's packing costs more than it saves
        // at these sizes, and the draft step is the hot path).
        tf_.set_matmul_policy(matmul_policy::batch_invariant);
        tf_.forward_batch(batch_, cache_, logits_.data());
        std::size_t kept = 0;
        for (std::size_t k = 0; k < active_.size(); ++k) {
            const std::size_t i = active_[k];
            const auto& r = requests[i];
            auto& f = fed_[r.slot];
            f.insert(f.end(), batch_[k].tokens.begin(), batch_[k].tokens.end());
            computed += batch_[k].tokens.size();
            const float* row = logits_.data() + k * n_vocab;
            const auto best = static_cast<std::size_t>(std::max_element(row, row + n_vocab) - row);
            bool go_on = best < target_vocab_;
            if (go_on && cfg_.p_min > 0) {  // p(best) = 1 / sum_j exp(l_j - l_best)
                double z = 0;
                for (std::size_t j = 0; j < n_vocab; ++j) z += std::exp(static_cast<double>(row[j] - row[best]));
                go_on = 1.0 / z >= static_cast<double>(cfg_.p_min);
            }
            if (!go_on) continue;
            r.draft->push_back(static_cast<token_id>(best));
            if (++produced[i] < wanted[i]) active_[kept++] = i;
        }
        active_.resize(kept);
    }
    for (std::size_t i = 0; i < requests.size(); ++i) {
        if (produced[i] > 0 && produced[i] < cfg_.min_draft) requests[i].draft->resize(requests[i].draft->size() - produced[i]);
    }
    return computed;
}

}  // namespace sluice::engine
