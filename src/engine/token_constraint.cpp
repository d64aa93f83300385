#include "sluice/engine/token_constraint.hpp"

#include <limits>

#include "sluice/engine/tokenizer.hpp"

namespace sluice::engine {

std::shared_ptr<const grammar::token_vocabulary> grammar_vocabulary(const tokenizer& tok) {
    const vocab& v = tok.get_vocab();
    std::vector<std::string> pieces(v.size());
    std::vector<std::int32_t> special;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto id = static_cast<token_id>(i);
        pieces[i] = tok.piece(id);
        if ((v.token(id).attr & (attr_control | attr_unknown | attr_unused)) != 0) special.push_back(id);
    }
    return std::make_shared<const grammar::token_vocabulary>(std::move(pieces),
                                                             std::vector<std::int32_t>(v.eog_tokens().begin(), v.eog_tokens().end()),
                                                             std::move(special));
}

token_constraint::token_constraint(std::shared_ptr<const grammar::grammar> g, std::shared_ptr<const grammar::token_vocabulary> v)
    : matcher_(std::move(g), std::move(v)) {}

bool token_constraint::mask_logits(std::span<float> logits) {
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
