#include "grammar/state_masks.hpp"

namespace sluice::grammar::detail {

state_mask_store::state_mask_store(const compiled_grammar& g, std::shared_ptr<const token_vocabulary> v)
    : g_(g), vocab_(std::move(v)), entries_(g.states.size()) {}

std::shared_ptr<state_mask_store> state_mask_store::of(const compiled_grammar& g,
                                                       const std::shared_ptr<const token_vocabulary>& v) {
    std::lock_guard lock(g.stores_mutex);
    for (auto& [vocab, store] : g.stores) {
        if (auto p = vocab.lock(); p == v) return store;
    }
    auto store = std::make_shared<state_mask_store>(g, v);
    g.stores.emplace_back(v, store);
    return store;
}

std::shared_ptr<const state_mask> state_mask_store::get(std::uint32_t s) {
    {
        std::lock_guard lock(mutex_);
        if (entries_[s]) return entries_[s];
    }
    auto entry = compute(s);  // outside the lock: two threads may both compute; same result
    std::lock_guard lock(mutex_);
    if (!entries_[s]) entries_[s] = std::move(entry);
    return entries_[s];
}

void walk_subtree(parse_space& space, const token_trie& t, std::uint32_t root, std::uint32_t set,
                  std::uint32_t* mask, std::vector<std::uint32_t>& stack) {
    if (set == parse_space::k_dead) return;
    set_token_bits(t, root, mask);
    const std::uint32_t base = t.depth[root];
    if (stack.size() < t.max_depth + 2) stack.resize(t.max_depth + 2);
    stack[0] = set;
    const std::uint32_t end = t.subtree_end[root];
    std::uint32_t i = root + 1;
    while (i < end) {
        std::uint32_t d = t.depth[i] - base;
        std::uint32_t next = space.step(stack[d - 1], t.byte[i]);
        if (next == parse_space::k_dead) {
            i = t.subtree_end[i];
            continue;
        }
        stack[d] = next;
        if (t.tokens_begin[i] != t.tokens_begin[i + 1]) set_token_bits(t, i, mask);
        ++i;
    }
}

// The state's rule runs with an unknown parent (k_open): a token whose whole path stays in
// frames of this rule instance is certain; the first trie node where a path pops into the
// unknown parent roots an uncertain subtree (the real stack decides it at run time).
std::shared_ptr<const state_mask> state_mask_store::compute(std::uint32_t s) {
    const token_trie& t = vocab_->trie();
    parse_space space(g_);
    auto entry = std::make_shared<state_mask>();
    std::vector<std::uint32_t> certain(vocab_->mask_words(), 0);
    bool any_certain = false;
    std::vector<std::uint32_t> stack(t.max_depth + 2);
    stack[0] = space.singleton(space.frame(s, parse_space::k_open));
    const auto end = static_cast<std::uint32_t>(t.size());
    std::uint32_t i = 1;
    while (i < end) {
        std::uint32_t d = t.depth[i];
        std::uint32_t next = space.step(stack[d - 1], t.byte[i]);
        if (next == parse_space::k_dead) {
            i = t.subtree_end[i];
            continue;
        }
        if (space.has_wild(next)) {
            entry->uncertain_roots.push_back(i);
            entry->root_paths.push_back(t.path(i));
            i = t.subtree_end[i];
            continue;
        }
        stack[d] = next;
        if (t.tokens_begin[i] != t.tokens_begin[i + 1]) {
            set_token_bits(t, i, certain.data());
            any_certain = true;
        }
        ++i;
    }
    if (any_certain) entry->certain = std::move(certain);
    return entry;
}

}  // namespace sluice::grammar::detail
