#include "sluice/grammar/token_vocabulary.hpp"

#include "grammar/state_masks.hpp"
#include "sluice/util/utf8.hpp"
#include "grammar/token_trie.hpp"

namespace sluice::grammar {

namespace {

bool in_text_slice(std::string_view piece) {
    for (char c : piece) {
        auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b == 0x7F || b == '"' || b == '\\') return false;
    }
    return utf8::is_valid(piece);
}

}  // namespace

token_vocabulary::token_vocabulary(std::vector<std::string> pieces, std::vector<std::int32_t> eog_ids,
                                   std::vector<std::int32_t> special_ids)
    : pieces_(std::move(pieces)), kind_(pieces_.size(), 0) {
    auto in_range = [&](std::int32_t id) { return id >= 0 && static_cast<std::size_t>(id) < pieces_.size(); };
    for (auto id : special_ids) {
        if (in_range(id)) kind_[static_cast<std::size_t>(id)] = 1;
    }
    for (auto id : eog_ids) {
        if (in_range(id) && kind_[static_cast<std::size_t>(id)] != 2) {
            kind_[static_cast<std::size_t>(id)] = 2;
            eog_.push_back(id);
        }
    }
    std::vector<std::uint8_t> eligible(pieces_.size()), in_slice(pieces_.size(), 0), rest(pieces_.size(), 0);
    text_slice_.assign(mask_words(), 0);
    text_slice_first_.resize(129);
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
        eligible[i] = kind_[i] == 0 && !pieces_[i].empty();
        if (eligible[i] && in_text_slice(pieces_[i])) {
            in_slice[i] = 1;
            text_slice_[i >> 5] |= 1u << (i & 31);
            auto first = static_cast<unsigned char>(pieces_[i][0]);
            auto& by_first = text_slice_first_[first < 0x80 ? first : 128];
            if (by_first.empty()) by_first.assign(mask_words(), 0);
            by_first[i >> 5] |= 1u << (i & 31);
        } else {
            rest[i] = eligible[i];
        }
    }
    trie_ = std::make_unique<const detail::token_trie>(detail::token_trie::build(pieces_, eligible, in_slice));
    rest_trie_ = std::make_unique<const detail::token_trie>(detail::token_trie::build(pieces_, rest, in_slice));
    mask_cache_ = std::make_unique<detail::vocab_mask_cache>();
}

token_vocabulary::~token_vocabulary() = default;

bool token_vocabulary::is_eog(std::int32_t id) const noexcept {
    return id >= 0 && static_cast<std::size_t>(id) < kind_.size() && kind_[static_cast<std::size_t>(id)] == 2;
}

bool token_vocabulary::is_special(std::int32_t id) const noexcept {
    return id >= 0 && static_cast<std::size_t>(id) < kind_.size() && kind_[static_cast<std::size_t>(id)] == 1;
}

}  // namespace sluice::grammar
