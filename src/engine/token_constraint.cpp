#include "sluice/engine/token_constraint.hpp"

#include <algorithm>
#include <limits>

#include "sluice/engine/tokenizer.hpp"

namespace sluice::engine {

std::shared_ptr<const grammar::token_vocabulary> grammar_vocabulary(const tokenizer& tok, std::span<const std::string> markup) {
    const vocab& v = tok.get_vocab();
    std::vector<std::string> pieces(v.size());
    std::vector<std::int32_t> special;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto id = static_cast<token_id>(i);
        pieces[i] = tok.piece(id);
        if ((v.token(id).attr & (attr_control | attr_unknown | attr_unused)) == 0) continue;
        if (std::find(markup.begin(), markup.end(), pieces[i]) != markup.end() && !v.is_eog(id)) continue;
        special.push_back(id);
    }
    return std::make_shared<const grammar::token_vocabulary>(std::move(pieces),
                                                             std::vector<std::int32_t>(v.eog_tokens().begin(), v.eog_tokens().end()),
                                                             std::move(special));
}

token_constraint::token_constraint(std::shared_ptr<const grammar::grammar> g, std::shared_ptr<const grammar::token_vocabulary> v)
    : matcher_(std::move(g), v), vocab_(std::move(v)) {}

token_constraint::token_constraint(std::shared_ptr<const grammar::grammar> g, std::shared_ptr<const grammar::token_vocabulary> v,
                                   std::shared_ptr<const grammar_trigger> trigger)
    : matcher_(std::move(g), v), vocab_(std::move(v)), trigger_(std::move(trigger)) {
    if (trigger_) {
        active_ = false;
        quiet_ = trigger_->starts_quiet && !trigger_->quiet_close.empty();
    }
}

bool token_constraint::accept(token_id id) {
    if (active_) return matcher_.accept_token(id);
    return scan_for_trigger(vocab_->piece(id));
}

// Scans the new bytes for a trigger word outside quiet regions. Bytes that could still be
// the start of a word or of a quiet marker stay in tail_ for the next piece. When a word is
// found, the grammar starts there: it is fed the output from the word's first byte on.
bool token_constraint::scan_for_trigger(std::string_view piece) {
    const grammar_trigger& t = *trigger_;
    tail_ += piece;
    const auto begins = [](std::string_view rest, const std::string& w) { return !w.empty() && w.starts_with(rest); };
    std::size_t i = 0;
    while (i < tail_.size()) {
        const std::string_view rest = std::string_view(tail_).substr(i);
        if (quiet_) {
            if (rest.starts_with(t.quiet_close)) {
                quiet_ = false;
                i += t.quiet_close.size();
            } else if (begins(rest, t.quiet_close)) {
                break;
            } else {
                ++i;
            }
            continue;
        }
        if (!t.quiet_open.empty() && !t.quiet_close.empty() && rest.starts_with(t.quiet_open)) {
            quiet_ = true;
            at_start_ = false;
            i += t.quiet_open.size();
            continue;
        }
        bool partial = begins(rest, t.quiet_open);
        const auto fires = [&](const std::vector<std::string>& words) {
            for (const std::string& w : words) {
                if (!w.empty() && rest.starts_with(w)) return true;
                partial = partial || begins(rest, w);
            }
            return false;
        };
        if (fires(t.words) || (at_start_ && fires(t.start_words))) {
            active_ = true;
            const std::string from_trigger(rest);
            tail_.clear();
            return matcher_.accept_bytes(from_trigger);
        }
        if (partial) break;
        const char c = tail_[i];
        if (c != ' ' && c != '\n' && c != '\t' && c != '\r') at_start_ = false;
        ++i;
    }
    tail_.erase(0, i);
    return true;
}

bool token_constraint::mask_logits(std::span<float> logits) {
    if (!active_) return true;  // a lazy constraint before its trigger: the output is free
    matcher_.fill_mask(mask_);
    constexpr float ninf = -std::numeric_limits<float>::infinity();
    bool any = false;
    const std::size_t n = std::min(logits.size(), mask_.size() * 32);
    for (std::size_t w = 0; w * 32 < n; ++w) {
        const std::uint32_t bits = mask_[w];
        const std::size_t end = std::min(n, w * 32 + 32);
        if (bits == 0) {
            for (std::size_t i = w * 32; i < end; ++i) logits[i] = ninf;
            continue;
        }
        any = true;
        if (bits == ~0u) continue;
        for (std::size_t i = w * 32; i < end; ++i) {
            if (((bits >> (i - w * 32)) & 1u) == 0) logits[i] = ninf;
        }
    }
    for (std::size_t i = n; i < logits.size(); ++i) logits[i] = ninf;  // rows past the vocabulary (padded outputs)
    return any;
}

}  // namespace sluice::engine
