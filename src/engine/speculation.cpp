#include "sluice/engine/speculation.hpp"

#include <algorithm>

namespace sluice::engine {

std::size_t lookup_draft(std::span<const token_id> history, std::size_t ngram, std::size_t max, std::vector<token_id>& draft) {
    const std::size_t n = history.size();
    if (ngram == 0 || max == 0 || n <= ngram) return 0;
    const auto tail = history.subspan(n - ngram);
    // Latest first: start i ends before the tail itself, so at least one token follows it.
    for (std::size_t i = n - ngram; i-- > 0;) {
        if (!std::equal(tail.begin(), tail.end(), history.begin() + static_cast<std::ptrdiff_t>(i))) continue;
        // Copied as LZ77 copies with overlap: past the end of history the copy goes on from
        // its own start, so a repeating stretch (a loop) is predicted to keep repeating.
        const std::size_t from = i + ngram, start = draft.size();
        for (std::size_t j = 0; j < max; ++j) {
            const std::size_t at = from + j;
            draft.push_back(at < n ? history[at] : draft[start + (at - n)]);
        }
        return max;
    }
    return 0;
}

}  // namespace sluice::engine
