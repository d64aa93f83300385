// The matcher: current parser set, token masks (state masks + walks of uncertain subtrees,
// whole masks cached per set), forced bytes.
#include "sluice/grammar/matcher.hpp"

#include <algorithm>
#include <unordered_map>

#include "grammar/compiled_grammar.hpp"
#include "grammar/parse_space.hpp"
#include "grammar/state_masks.hpp"
#include "grammar/token_trie.hpp"
#include "grammar/trie_walk.hpp"

namespace sluice::grammar {

namespace detail {

class parser_state {
public:
    parser_state(const compiled_grammar& g, const std::shared_ptr<const token_vocabulary>& v)
        : space(g), store(state_mask_store::of(g, v)) {
        space.set_classes(&store->classes());
        current = space.initial_set();
    }

    // Keeps the memo bounded over long generations: re-intern just the current stacks.
    void maybe_rebuild() {
        if (!space.over_budget()) return;
        current = space.rebuild(space.export_set(current));
        mask_cache.clear();
        class_cache.clear();
        entry_of_frame.clear();
    }

    // The precomputed entry for stack top `m`: the shortest chain of frames (at most
    // k_max_chain) whose uncertain part is small, so a string's characters are certain even
    // when the grammar puts them in a rule of their own.
    const state_mask& entry(std::uint32_t m) {
        if (auto it = entry_of_frame.find(m); it != entry_of_frame.end()) return *it->second;
        const std::size_t small = store->vocabulary().trie().size() / 16;
        std::vector<std::uint32_t> chain{space.frame_state(m)};
        std::uint32_t below = space.frame_parent(m);
        std::shared_ptr<const state_mask> e = store->get(chain);
        while (e->uncertain_nodes > small && chain.size() < k_max_chain && below != parse_space::k_root) {
            chain.push_back(space.frame_state(below));
            below = space.frame_parent(below);
            e = store->get(chain);
        }
        const state_mask* p = e.get();
        entry_of_frame.emplace(m, p);
        return *p;
    }

    void compute_mask(std::uint32_t* mask) {
        const token_vocabulary& v = store->vocabulary();
        trie_walker walker(space, v, mask, nullptr);
        if (space.closed_under_text(current)) return walker.walk(false, 0, current, std::string());
        std::string path;  // an uncertain root's bytes
        for (std::uint32_t m : space.members(current)) {
            if (m == parse_space::k_complete || m == parse_space::k_wild) continue;
            const state_mask& e = entry(m);
            if (!e.certain.empty()) {
                for (std::size_t w = 0; w < e.certain.size(); ++w) mask[w] |= e.certain[w];
            }
            for (auto id : e.certain_ids) mask[id >> 5] |= 1u << (id & 31);
            if (e.uncertain_roots.empty()) continue;
            std::uint32_t single = space.singleton(m);
            std::uint32_t from = 0;
            for (std::size_t r = 0; r < e.uncertain_roots.size(); ++r) {
                path.assign(e.root_bytes, from, e.root_path_end[r] - from);
                from = e.root_path_end[r];
                std::uint32_t set = space.step_bytes(single, path);
                walker.walk(e.root_in_rest[r] != 0, e.uncertain_roots[r], set, path);
            }
        }
    }

    parse_space space;
    std::shared_ptr<state_mask_store> store;
    std::unordered_map<std::uint32_t, const state_mask*> entry_of_frame;  // entries live in the store
    std::uint32_t current = 0;
    std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> mask_cache;
    // Masks by canonical set (parse_space::canonical_set): a long counter (maxLength) changes
    // state every character but not class.
    std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> class_cache;
};

}  // namespace detail

namespace {
constexpr std::size_t k_mask_cache_entries = 64;
constexpr std::size_t k_max_forced_bytes = 4096;
}  // namespace

matcher::matcher(std::shared_ptr<const grammar> g, std::shared_ptr<const token_vocabulary> v)
    : grammar_(std::move(g)), vocab_(std::move(v)),
      state_(std::make_unique<detail::parser_state>(grammar_->impl(), vocab_)) {}

matcher::~matcher() = default;

matcher::matcher(const matcher& other)
    : grammar_(other.grammar_), vocab_(other.vocab_),
      state_(std::make_unique<detail::parser_state>(grammar_->impl(), vocab_)), terminated_(other.terminated_) {
    state_->current = state_->space.rebuild(other.state_->space.export_set(other.state_->current));
}

matcher& matcher::operator=(const matcher& other) {
    if (this != &other) {
        matcher copy(other);
        *this = std::move(copy);
    }
    return *this;
}

matcher::matcher(matcher&&) noexcept = default;
matcher& matcher::operator=(matcher&&) noexcept = default;

void matcher::fill_mask(std::vector<std::uint32_t>& mask) {
    mask.assign(vocab_->mask_words(), 0);
    if (terminated_) return;
    state_->maybe_rebuild();
    auto& cache = state_->mask_cache;
    if (auto it = cache.find(state_->current); it != cache.end()) {
        std::copy(it->second.begin(), it->second.end(), mask.begin());
        return;
    }
    std::uint32_t key = state_->space.canonical_set(state_->current);
    auto& by_class = state_->class_cache;
    if (auto it = by_class.find(key); it != by_class.end()) {
        std::copy(it->second.begin(), it->second.end(), mask.begin());
    } else {
        state_->compute_mask(mask.data());
        if (state_->space.is_complete(state_->current)) {
            for (auto id : vocab_->eog_ids()) mask[static_cast<std::size_t>(id) >> 5] |= 1u << (id & 31);
        }
        if (by_class.size() >= k_mask_cache_entries) by_class.clear();
        by_class.emplace(key, mask);
    }
    if (cache.size() >= k_mask_cache_entries) cache.clear();
    cache.emplace(state_->current, mask);
}

bool matcher::accept_token(std::int32_t id) {
    if (terminated_ || id < 0 || static_cast<std::size_t>(id) >= vocab_->size()) return false;
    if (vocab_->is_eog(id)) {
        if (!is_complete()) return false;
        terminated_ = true;
        return true;
    }
    if (vocab_->is_special(id)) return false;
    const std::string& piece = vocab_->piece(id);
    if (piece.empty()) return false;
    return accept_bytes(piece);
}

bool matcher::accept_bytes(std::string_view bytes) {
    if (terminated_) return bytes.empty();
    state_->maybe_rebuild();
    std::uint32_t next = state_->space.step_bytes(state_->current, bytes);
    if (next == detail::parse_space::k_dead) return false;
    state_->current = next;
    return true;
}

std::size_t matcher::accepted_prefix(std::string_view bytes) const {
    if (terminated_) return 0;
    std::uint32_t set = state_->current;
    std::size_t n = 0;
    for (char c : bytes) {
        set = state_->space.step(set, static_cast<std::uint8_t>(c));
        if (set == detail::parse_space::k_dead) break;
        ++n;
    }
    return n;
}

bool matcher::is_complete() const { return state_->space.is_complete(state_->current); }

bool matcher::can_continue() const { return !terminated_ && state_->space.has_frames(state_->current); }

std::string matcher::forced_bytes() const {
    std::string out;
    if (terminated_) return out;
    auto& space = state_->space;
    const auto& g = space.grammar();
    std::uint32_t set = state_->current;
    while (out.size() < k_max_forced_bytes && !space.is_complete(set)) {
        int only = -1;
        bool several = false;
        for (std::uint32_t m : space.members(set)) {
            if (m == detail::parse_space::k_complete || m == detail::parse_space::k_wild) continue;
            const detail::dfa_state& st = g.states[space.frame_state(m)];
            for (auto i = st.bytes_begin; i < st.bytes_end && !several; ++i) {
                const detail::byte_edge& e = g.byte_edges[i];
                if (e.lo != e.hi || (only >= 0 && only != e.lo)) several = true;
                else only = e.lo;
            }
            if (several) break;
        }
        if (several || only < 0) break;
        out += static_cast<char>(only);
        set = space.step(set, static_cast<std::uint8_t>(only));
    }
    return out;
}

void matcher::reset() {
    terminated_ = false;
    state_->current = state_->space.initial_set();
}

}  // namespace sluice::grammar
