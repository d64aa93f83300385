// code_set: sorted disjoint code point ranges (see regex_automaton.hpp).
#include <algorithm>

#include "grammar/regex_automaton.hpp"
#include "sluice/util/utf8.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

constexpr char32_t k_surrogate_lo = 0xD800;
constexpr char32_t k_surrogate_hi = 0xDFFF;

void insert_range(std::vector<code_range>& ranges, char32_t lo, char32_t hi) {
    if (lo > hi) return;
    auto it = std::lower_bound(ranges.begin(), ranges.end(), lo,
                               [](const code_range& r, char32_t v) { return r.hi + 1 < v; });
    // it: first range that ends at or after lo-1 (may touch or overlap [lo, hi]).
    auto last = it;
    while (last != ranges.end() && last->lo <= hi + 1) {
        lo = std::min(lo, last->lo);
        hi = std::max(hi, last->hi);
        ++last;
    }
    it = ranges.erase(it, last);
    ranges.insert(it, code_range{lo, hi});
}

}  // namespace

code_set code_set::any() {
    code_set s;
    s.add(0, k_max_code_point);
    return s;
}

void code_set::add(char32_t lo, char32_t hi) {
    if (hi > k_max_code_point) hi = k_max_code_point;
    if (lo > hi) return;
    // Surrogates never appear in a decoded string: keep them out of every set.
    if (lo < k_surrogate_lo && hi > k_surrogate_hi) {
        insert_range(ranges_, lo, k_surrogate_lo - 1);
        insert_range(ranges_, k_surrogate_hi + 1, hi);
        return;
    }
    if (lo >= k_surrogate_lo && hi <= k_surrogate_hi) return;
    if (lo >= k_surrogate_lo && lo <= k_surrogate_hi) lo = k_surrogate_hi + 1;
    if (hi >= k_surrogate_lo && hi <= k_surrogate_hi) hi = k_surrogate_lo - 1;
    insert_range(ranges_, lo, hi);
}

void code_set::add(const code_set& other) {
    for (const code_range& r : other.ranges_) insert_range(ranges_, r.lo, r.hi);
}

code_set code_set::negated() const {
    code_set out;
    char32_t next = 0;
    for (const code_range& r : ranges_) {
        if (r.lo > next) out.add(next, r.lo - 1);
        next = r.hi + 1;
    }
    if (next <= k_max_code_point) out.add(next, k_max_code_point);
    return out;
}

code_set code_set::intersected(const code_set& other) const {
    code_set out;
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < ranges_.size() && j < other.ranges_.size()) {
        const code_range& a = ranges_[i];
        const code_range& b = other.ranges_[j];
        const char32_t lo = std::max(a.lo, b.lo);
        const char32_t hi = std::min(a.hi, b.hi);
        if (lo <= hi) out.ranges_.push_back({lo, hi});
        if (a.hi < b.hi) {
            ++i;
        } else {
            ++j;
        }
    }
    return out;
}

bool code_set::contains(char32_t c) const {
    auto it = std::lower_bound(ranges_.begin(), ranges_.end(), c,
                               [](const code_range& r, char32_t v) { return r.hi < v; });
    return it != ranges_.end() && it->lo <= c;
}

bool code_set::operator==(const code_set& other) const {
    if (ranges_.size() != other.ranges_.size()) return false;
    for (std::size_t i = 0; i < ranges_.size(); ++i) {
        if (ranges_[i].lo != other.ranges_[i].lo || ranges_[i].hi != other.ranges_[i].hi) return false;
    }
    return true;
}

std::u32string decode_utf8(std::string_view s) {
    const std::vector<char32_t> cps = utf8::to_code_points(s);  // invalid bytes: U+FFFD each
    return {cps.begin(), cps.end()};
}

}  // namespace sluice::grammar::json_schema_detail
