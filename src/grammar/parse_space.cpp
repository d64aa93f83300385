#include "grammar/parse_space.hpp"

#include <algorithm>
#include <string>

namespace sluice::grammar::detail {

namespace {
constexpr std::size_t k_soft_frames = 1u << 20;
constexpr std::size_t k_soft_rows = 1u << 14;     // 16 MiB of transition rows
constexpr std::size_t k_hard_frames = 1u << 24;
constexpr std::size_t k_max_closure = 1u << 14;  // frames visited by the closures of one step
}  // namespace

parse_space::parse_space(const compiled_grammar& g) : g_(g) { clear(); }

void parse_space::clear() {
    frames_.clear();
    frame_index_.clear();
    sets_.clear();
    flags_.clear();
    set_index_.clear();
    row_of_.clear();
    text_closed_.clear();
    canon_frame_.clear();
    canon_index_.clear();
    canon_set_of_.clear();
    canon_sets_.clear();
    rows_.clear();
    stamp_.clear();
    generation_ = 0;
    std::vector<std::uint32_t> empty;
    intern_set(empty);  // set 0: dead
}

bool parse_space::over_budget() const noexcept {
    return frames_.size() > k_soft_frames || rows_.size() / 256 > k_soft_rows;
}

std::uint32_t parse_space::frame(std::uint32_t state, std::uint32_t parent) {
    std::uint64_t key = (static_cast<std::uint64_t>(state) << 32) | parent;
    auto [it, inserted] = frame_index_.try_emplace(key, static_cast<std::uint32_t>(frames_.size()));
    if (inserted) {
        if (frames_.size() >= k_hard_frames) throw grammar_error("grammar parser exceeded its memory bound (too many stacks)");
        frames_.push_back({state, parent});
    }
    return it->second;
}

void parse_space::closure(std::uint32_t state, std::uint32_t parent, std::vector<std::uint32_t>& out) {
    work_.clear();
    work_.emplace_back(state, parent);
    while (!work_.empty()) {
        auto [s, p] = work_.back();
        work_.pop_back();
        std::uint32_t id = frame(s, p);
        if (stamp_.size() <= id) stamp_.resize(frames_.size() + 1024, 0);
        if (stamp_[id] == generation_) continue;
        stamp_[id] = generation_;
        if (++visits_ > k_max_closure) {
            throw grammar_error("grammar is too ambiguous: more than " + std::to_string(k_max_closure) +
                                " parser positions reached without consuming a byte");
        }
        const dfa_state& st = g_.states[s];
        if (st.bytes_begin != st.bytes_end) out.push_back(id);
        for (auto i = st.refs_begin; i < st.refs_end; ++i) {
            const ref_edge& e = g_.ref_edges[i];
            // A reference followed by nothing returns straight to our parent (no frame).
            std::uint32_t ret = g_.states[e.target].final_only ? p : frame(e.target, p);
            work_.emplace_back(g_.rules[e.rule].start, ret);
        }
        if (st.accepting) {
            if (p == k_root) out.push_back(k_complete);
            else if (p == k_open) out.push_back(k_wild);
            else work_.push_back({frames_[p].state, frames_[p].parent});
        }
    }
}

std::uint32_t parse_space::intern_set(std::vector<std::uint32_t>& m) {
    std::sort(m.begin(), m.end());
    m.erase(std::unique(m.begin(), m.end()), m.end());
    auto it = set_index_.find(m);
    if (it != set_index_.end()) return it->second;
    if (m.size() > k_max_stacks) {
        throw grammar_error("grammar is too ambiguous: more than " + std::to_string(k_max_stacks) + " parse stacks are alive at once");
    }
    auto id = static_cast<std::uint32_t>(sets_.size());
    std::uint8_t f = 0;
    for (auto x : m) {
        if (x == k_complete) f |= k_flag_complete;
        else if (x == k_wild) f |= k_flag_wild;
        else f |= k_flag_frames;
    }
    sets_.push_back(m);
    flags_.push_back(f);
    row_of_.push_back(k_no_row);
    text_closed_.push_back(-1);
    canon_set_of_.push_back(k_unknown);
    set_index_.emplace(m, id);
    return id;
}

std::uint32_t parse_space::initial_set() { return closed_set(g_.rules[g_.root].start, k_root); }

std::uint32_t parse_space::closed_set(std::uint32_t state, std::uint32_t parent) {
    scratch_.clear();
    ++generation_;
    visits_ = 0;
    closure(state, parent, scratch_);
    return intern_set(scratch_);
}

std::uint32_t parse_space::singleton(std::uint32_t f) {
    scratch_.assign(1, f);
    return intern_set(scratch_);
}

// Narrows [lo, hi] (which holds b) to the bytes on which state s has the same target as on b
// (byte_target takes the first edge, in order of lo, that holds the byte).
void parse_space::same_target_span(std::uint32_t s, std::uint8_t b, unsigned& lo, unsigned& hi) const noexcept {
    const dfa_state& st = g_.states[s];
    unsigned from = 0, to = 255;  // bytes past every earlier edge: from; the span ends at to
    for (std::uint32_t i = st.bytes_begin; i < st.bytes_end; ++i) {
        const byte_edge& e = g_.byte_edges[i];
        if (b < e.lo) {
            to = e.lo - 1u;
            break;
        }
        if (b <= e.hi) {
            from = std::max<unsigned>(from, e.lo);
            to = e.hi;
            break;
        }
        from = std::max<unsigned>(from, e.hi + 1u);
    }
    lo = std::max(lo, from);
    hi = std::min(hi, to);
}

// Every byte on which each member's state has the same target as on b leads to the same set:
// the whole span of the row is filled at once (a character class costs one closure, not one
// per byte).
std::uint32_t parse_space::step_slow(std::uint32_t set, std::uint8_t b) {
    std::vector<std::uint32_t>& out = step_out_;
    out.clear();
    ++generation_;
    visits_ = 0;
    unsigned lo = 0, hi = 255;
    for (std::uint32_t m : sets_[set]) {
        if (m == k_wild) {
            out.push_back(k_wild);
            continue;
        }
        if (m == k_complete) continue;
        same_target_span(frames_[m].state, b, lo, hi);
        std::uint32_t t = g_.byte_target(frames_[m].state, b);
        if (t != compiled_grammar::k_no_state) closure(t, frames_[m].parent, out);
    }
    std::uint32_t next = intern_set(out);
    if (row_of_[set] == k_no_row) {
        row_of_[set] = static_cast<std::uint32_t>(rows_.size() / 256);
        rows_.resize(rows_.size() + 256, k_unknown);
    }
    std::uint32_t* row = rows_.data() + static_cast<std::size_t>(row_of_[set]) * 256;
    std::fill(row + lo, row + hi + 1, next);
    return next;
}

bool parse_space::closed_under_text(std::uint32_t set) {
    if (text_closed_[set] >= 0) return text_closed_[set] == 1;
    auto answer = [&](bool yes) {
        text_closed_[set] = yes ? 1 : 0;
        return yes;
    };
    if (!has_frames(set)) return answer(false);
    for (unsigned b = 0x20; b < 0x7F; ++b) {
        if (b != '"' && b != '\\' && !same_canonical(step(set, static_cast<std::uint8_t>(b)), set)) return answer(false);
    }
    std::vector<std::uint32_t> targets;
    if (!multibyte_targets(set, targets)) return answer(false);
    for (auto t : targets) {
        if (!same_canonical(t, set)) return answer(false);
    }
    return answer(true);
}

std::uint32_t parse_space::canonical_frame(std::uint32_t f) {
    std::vector<std::uint32_t> path;
    std::uint32_t g = f;
    while (g != k_root && g != k_open) {
        if (auto it = canon_frame_.find(g); it != canon_frame_.end()) break;
        path.push_back(g);
        g = frames_[g].parent;
    }
    std::uint32_t c = (g == k_root || g == k_open) ? g : canon_frame_[g];
    for (std::size_t i = path.size(); i-- > 0;) {
        std::uint64_t key = static_cast<std::uint64_t>((*classes_)[frames_[path[i]].state]) << 32 | c;
        c = canon_index_.try_emplace(key, static_cast<std::uint32_t>(canon_index_.size())).first->second;
        canon_frame_.emplace(path[i], c);
    }
    return c;
}

std::uint32_t parse_space::canonical_set(std::uint32_t set) {
    if (classes_ == nullptr) return set;
    if (canon_set_of_[set] != k_unknown) return canon_set_of_[set];
    std::vector<std::uint32_t> key;
    for (std::uint32_t m : sets_[set]) key.push_back(m == k_complete || m == k_wild ? m : canonical_frame(m));
    std::sort(key.begin(), key.end());
    key.erase(std::unique(key.begin(), key.end()), key.end());
    std::uint32_t id = canon_sets_.try_emplace(std::move(key), static_cast<std::uint32_t>(canon_sets_.size())).first->second;
    canon_set_of_[set] = id;
    return id;
}

bool parse_space::multibyte_targets(std::uint32_t set, std::vector<std::uint32_t>& out) {
    // The well-formed multi-byte sequences (Unicode table 3-7): lead range, then continuations.
    struct byte_span {
        std::uint8_t lo, hi;
    };
    static const std::vector<std::vector<byte_span>> rows = {
        {{0xC2, 0xDF}, {0x80, 0xBF}},
        {{0xE0, 0xE0}, {0xA0, 0xBF}, {0x80, 0xBF}},
        {{0xE1, 0xEC}, {0x80, 0xBF}, {0x80, 0xBF}},
        {{0xED, 0xED}, {0x80, 0x9F}, {0x80, 0xBF}},
        {{0xEE, 0xEF}, {0x80, 0xBF}, {0x80, 0xBF}},
        {{0xF0, 0xF0}, {0x90, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}},
        {{0xF1, 0xF3}, {0x80, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}},
        {{0xF4, 0xF4}, {0x80, 0x8F}, {0x80, 0xBF}, {0x80, 0xBF}},
    };
    out.clear();
    std::vector<std::uint32_t> cur, next;
    for (const auto& row : rows) {
        cur.assign(1, set);
        for (const auto& span : row) {
            next.clear();
            for (std::uint32_t y : cur) {
                for (unsigned b = span.lo; b <= span.hi; ++b) {
                    std::uint32_t z = step(y, static_cast<std::uint8_t>(b));
                    if (z == k_dead || has_wild(z)) return false;
                    if (std::find(next.begin(), next.end(), z) == next.end()) next.push_back(z);
                }
                if (next.size() > 16) return false;
            }
            cur.swap(next);
        }
        for (auto z : cur) {
            if (std::find(out.begin(), out.end(), z) == out.end()) out.push_back(z);
        }
    }
    return true;
}

std::vector<std::vector<std::uint32_t>> parse_space::export_set(std::uint32_t set) const {
    std::vector<std::vector<std::uint32_t>> out;
    for (std::uint32_t m : sets_[set]) {
        std::vector<std::uint32_t> stack;
        if (m == k_complete || m == k_wild) {
            stack.push_back(m);
        } else {
            std::uint32_t f = m;
            for (;;) {
                stack.push_back(frames_[f].state);
                std::uint32_t p = frames_[f].parent;
                if (p == k_root || p == k_open) {
                    stack.push_back(p);
                    break;
                }
                f = p;
            }
        }
        out.push_back(std::move(stack));
    }
    return out;
}

std::uint32_t parse_space::rebuild(const std::vector<std::vector<std::uint32_t>>& stacks) {
    clear();
    std::vector<std::uint32_t> m;
    for (const auto& st : stacks) {
        if (st.size() == 1) {
            m.push_back(st[0]);
            continue;
        }
        std::uint32_t parent = st.back();
        for (std::size_t i = st.size() - 1; i-- > 0;) parent = frame(st[i], parent);
        m.push_back(parent);
    }
    return intern_set(m);
}

}  // namespace sluice::grammar::detail
