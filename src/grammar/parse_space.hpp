// The pushdown automaton's run-time store: interned stack frames and sets of stacks, with
// byte transitions between sets memoised in dense 256-entry rows. A stack is a frame id: a
// frame is (grammar state, parent frame); the parent frame is where the rule returns to (its
// own state is the return state). A set is the sorted list of stack tops after closure (only
// frames whose state has byte edges) plus two markers: k_complete (the root rule can end
// here) and k_wild (popped into an unknown parent; used only when precomputing state masks).
// Set 0 is the empty set (every path rejected).
//
// Bounds: a set larger than k_max_stacks, or a step whose closures visit too many frames,
// throws grammar_error (an ambiguous grammar); the owner calls over_budget() between operations and rebuilds (see matcher).
// Not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grammar/compiled_grammar.hpp"

namespace sluice::grammar::detail {

struct vector_hash {
    std::size_t operator()(const std::vector<std::uint32_t>& v) const noexcept {
        std::uint64_t h = 1469598103934665603ull;
        for (auto x : v) h = (h ^ x) * 1099511628211ull;
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};

class parse_space {
public:
    static constexpr std::uint32_t k_root = 0xFFFFFFFFu;      // parent of the root rule's frame
    static constexpr std::uint32_t k_open = 0xFFFFFFFEu;      // unknown parent
    static constexpr std::uint32_t k_complete = 0xFFFFFFFDu;  // set marker
    static constexpr std::uint32_t k_wild = 0xFFFFFFFCu;      // set marker
    static constexpr std::uint32_t k_dead = 0;                // the empty set
    static constexpr std::size_t k_max_stacks = 2048;

    explicit parse_space(const compiled_grammar& g);

    const compiled_grammar& grammar() const noexcept { return g_; }

    // The set of the root rule's start (closed).
    std::uint32_t initial_set();
    // The closed set of one frame's state (with its parent).
    std::uint32_t closed_set(std::uint32_t state, std::uint32_t parent);
    // A set holding just `frame` (not closed again: the frame must have byte edges).
    std::uint32_t singleton(std::uint32_t frame);
    std::uint32_t frame(std::uint32_t state, std::uint32_t parent);

    std::uint32_t step(std::uint32_t set, std::uint8_t b) {
        std::uint32_t row = row_of_[set];
        if (row != k_no_row) {
            std::uint32_t t = rows_[static_cast<std::size_t>(row) * 256 + b];
            if (t != k_unknown) return t;
        }
        return step_slow(set, b);
    }
    std::uint32_t step_bytes(std::uint32_t set, std::string_view bytes) {
        for (char c : bytes) {
            if (set == k_dead) break;
            set = step(set, static_cast<std::uint8_t>(c));
        }
        return set;
    }

    const std::vector<std::uint32_t>& members(std::uint32_t set) const { return sets_[set]; }
    bool is_complete(std::uint32_t set) const noexcept { return (flags_[set] & k_flag_complete) != 0; }
    bool has_wild(std::uint32_t set) const noexcept { return (flags_[set] & k_flag_wild) != 0; }
    bool has_frames(std::uint32_t set) const noexcept { return (flags_[set] & k_flag_frames) != 0; }
    std::uint32_t frame_state(std::uint32_t f) const noexcept { return frames_[f].state; }
    std::uint32_t frame_parent(std::uint32_t f) const noexcept { return frames_[f].parent; }

    // True when every character of the vocabulary's text slice (UTF-8 characters other than
    // controls, '"' and '\\') leads from `set` back to `set` - or, with lookahead classes, to
    // a set of the same canonical form: then every token made of such characters is allowed.
    // Memoised per set.
    bool closed_under_text(std::uint32_t set);

    // The sets reached from `set` by each well-formed multi-byte UTF-8 character (deduplicated),
    // or false when one is rejected, passes a k_wild set, or there are too many.
    bool multibyte_targets(std::uint32_t set, std::vector<std::uint32_t>& out);

    // Lookahead classes (lookahead_classes.hpp) over the vocabulary's longest token; enables
    // canonical_set. Must outlive this object.
    void set_classes(const std::vector<std::uint32_t>* classes) noexcept { classes_ = classes; }
    // The set with every state of every stack replaced by its lookahead class, interned: sets
    // with equal canonical forms allow the same tokens. Without classes: the set itself.
    std::uint32_t canonical_set(std::uint32_t set);

    // True when the memo has grown past its soft budget; the owner should rebuild.
    bool over_budget() const noexcept;
    // Every stack of `set` as its states from top to bottom, then the bottom parent marker.
    std::vector<std::vector<std::uint32_t>> export_set(std::uint32_t set) const;
    // Clears everything and interns the exported stacks again; returns the new set id.
    std::uint32_t rebuild(const std::vector<std::vector<std::uint32_t>>& stacks);

private:
    struct frame_t {
        std::uint32_t state, parent;
    };
    static constexpr std::uint32_t k_no_row = 0xFFFFFFFFu;
    static constexpr std::uint32_t k_unknown = 0xFFFFFFFFu;
    static constexpr std::uint8_t k_flag_complete = 1, k_flag_wild = 2, k_flag_frames = 4;

    std::uint32_t step_slow(std::uint32_t set, std::uint8_t b);
    void same_target_span(std::uint32_t s, std::uint8_t b, unsigned& lo, unsigned& hi) const noexcept;

    void closure(std::uint32_t state, std::uint32_t parent, std::vector<std::uint32_t>& out);
    std::uint32_t intern_set(std::vector<std::uint32_t>& members);
    void clear();

    const compiled_grammar& g_;
    std::vector<frame_t> frames_;
    std::unordered_map<std::uint64_t, std::uint32_t> frame_index_;
    std::vector<std::vector<std::uint32_t>> sets_;
    std::vector<std::uint8_t> flags_;
    std::unordered_map<std::vector<std::uint32_t>, std::uint32_t, vector_hash> set_index_;
    std::vector<std::int8_t> text_closed_;  // per set: -1 unknown, 0 no, 1 yes
    std::vector<std::uint32_t> row_of_;
    std::vector<std::uint32_t> rows_;
    std::vector<std::uint32_t> stamp_;
    std::uint32_t canonical_frame(std::uint32_t f);
    bool same_canonical(std::uint32_t a, std::uint32_t b) { return a == b || (classes_ && canonical_set(a) == canonical_set(b)); }

    const std::vector<std::uint32_t>* classes_ = nullptr;
    std::unordered_map<std::uint32_t, std::uint32_t> canon_frame_;   // frame -> canonical frame
    std::unordered_map<std::uint64_t, std::uint32_t> canon_index_;   // (class, canonical parent)
    std::vector<std::uint32_t> canon_set_of_;                        // per set, k_unknown
    std::unordered_map<std::vector<std::uint32_t>, std::uint32_t, vector_hash> canon_sets_;
    std::uint32_t generation_ = 0;
    std::size_t visits_ = 0;  // frames visited by the current step's closures
    std::vector<std::pair<std::uint32_t, std::uint32_t>> work_;
    std::vector<std::uint32_t> scratch_;
    std::vector<std::uint32_t> step_out_;  // step_slow's target members
};

}  // namespace sluice::grammar::detail
