// The per-sequence parse state of a grammar over a vocabulary: which tokens may come next,
// advancing by a token or by raw bytes, completeness, and forced continuations.
// One matcher per sequence; not thread-safe (its owner - the scheduler strand - calls it).
// Constructing one is cheap: the grammar and the vocabulary are shared and immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::grammar {

namespace detail {
class parser_state;  // src/grammar/parser_state.hpp
struct mask_cache;   // src/grammar/mask_cache.hpp
}

class matcher {
public:
    matcher(std::shared_ptr<const grammar> g, std::shared_ptr<const token_vocabulary> v);
    ~matcher();
    matcher(const matcher& other);
    matcher& operator=(const matcher& other);
    matcher(matcher&&) noexcept;
    matcher& operator=(matcher&&) noexcept;

    // Resizes `mask` to (vocab.size()+31)/32 words; bit i (word i/32, bit i%32) set <=>
    // token i may come next. EOG tokens are allowed exactly when is_complete(); special
    // (non-EOG) tokens and empty pieces are never allowed.
    void fill_mask(std::vector<std::uint32_t>& mask);
    // Advances by token `id`; false (state unchanged) if it is not allowed. An EOG token is
    // accepted when complete and moves the matcher to its terminated state.
    bool accept_token(std::int32_t id);
    // Advances by raw bytes; false (state unchanged) if any byte is rejected.
    bool accept_bytes(std::string_view bytes);
    // How many leading bytes of `bytes` would be accepted from the current state.
    std::size_t accepted_prefix(std::string_view bytes) const;
    // The bytes so far form a complete sentence of the grammar.
    bool is_complete() const;
    // More bytes are possible.
    bool can_continue() const;
    // True after an EOG token was accepted.
    bool is_terminated() const noexcept { return terminated_; }
    // The bytes every continuation must start with (empty when the next byte is not
    // determined, or when the grammar may end here).
    std::string forced_bytes() const;
    void reset();

    const token_vocabulary& vocabulary() const noexcept { return *vocab_; }
    const grammar& grammar_ref() const noexcept { return *grammar_; }

private:
    std::shared_ptr<const grammar> grammar_;
    std::shared_ptr<const token_vocabulary> vocab_;
    std::unique_ptr<detail::parser_state> state_;
    bool terminated_ = false;
};

}  // namespace sluice::grammar
