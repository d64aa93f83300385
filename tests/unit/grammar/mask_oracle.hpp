// The brute-force reference for token masks: a token is allowed iff accept_bytes on a copy of
// the matcher succeeds and leaves a state that can continue or is complete; EOG tokens iff
// the matcher is complete; special tokens and empty pieces never.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/grammar/matcher.hpp"

namespace sluice::test {

inline std::vector<std::uint32_t> brute_force_mask(const grammar::matcher& m, const grammar::token_vocabulary& v) {
    std::vector<std::uint32_t> mask((v.size() + 31) / 32, 0);
    for (std::size_t i = 0; i < v.size(); ++i) {
        auto id = static_cast<std::int32_t>(i);
        bool ok = false;
        if (v.is_eog(id)) {
            ok = m.is_complete() && !m.is_terminated();
        } else if (!v.is_special(id) && !v.piece(id).empty()) {
            grammar::matcher copy = m;
            ok = copy.accept_bytes(v.piece(id)) && (copy.can_continue() || copy.is_complete());
        }
        if (ok) mask[i >> 5] |= 1u << (i & 31);
    }
    return mask;
}

inline bool mask_bit(const std::vector<std::uint32_t>& mask, std::size_t i) { return (mask[i >> 5] >> (i & 31)) & 1u; }

// Fails the test naming the first few tokens where the masks differ.
inline void expect_same_mask(const std::vector<std::uint32_t>& got, const std::vector<std::uint32_t>& want,
                             const grammar::token_vocabulary& v, const std::string& where) {
    ASSERT_EQ(got.size(), want.size());
    int shown = 0;
    for (std::size_t i = 0; i < v.size() && shown < 5; ++i) {
        if (mask_bit(got, i) != mask_bit(want, i)) {
            ADD_FAILURE() << where << ": token " << i << " '" << v.piece(static_cast<std::int32_t>(i)) << "' is "
                          << (mask_bit(got, i) ? "allowed" : "rejected") << " by fill_mask but "
                          << (mask_bit(want, i) ? "allowed" : "rejected") << " by the brute-force oracle";
            ++shown;
        }
    }
}

}  // namespace sluice::test
