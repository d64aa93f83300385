#include "grammar/trie_walk.hpp"

namespace sluice::grammar::detail {

namespace {
constexpr std::uint32_t k_min_slice_subtree = 1024;  // trie nodes
}  // namespace

void trie_walker::mark(const token_trie& t, std::uint32_t n) {
    if (t.tokens_begin[n] == t.tokens_begin[n + 1]) return;
    set_token_bits(t, n, mask_);
    marked = true;
}

void trie_walker::uncertain(const token_trie& t, bool in_rest, std::uint32_t n, const std::string& path) {
    entry_->uncertain_roots.push_back(n);
    entry_->root_in_rest.push_back(in_rest ? 1 : 0);
    entry_->root_paths.push_back(path);
    entry_->uncertain_nodes += t.subtree_end[n] - n;
}

bool trie_walker::take_slice(std::uint32_t n, std::uint32_t set, const std::string& path) {
    const token_trie& t = vocab_.trie();
    // Below a small subtree the check and the rest-trie lookup cost more than they save.
    if (!t.boundary[n] || (n != 0 && t.subtree_end[n] - n < k_min_slice_subtree) || !space_.closed_under_text(set)) return false;
    if (n == 0) {
        const auto& slice = vocab_.text_slice();
        for (std::size_t w = 0; w < slice.size(); ++w) mask_[w] |= slice[w];
        marked = true;
    } else {
        for (auto k = t.tokens_begin[n]; k < t.tokens_begin[t.subtree_end[n]]; ++k) {
            if (!t.token_in_slice[k]) continue;
            auto id = static_cast<std::uint32_t>(t.token_ids[k]);
            mask_[id >> 5] |= 1u << (id & 31);
            marked = true;
        }
    }
    std::uint32_t r = vocab_.rest_trie().find(path);
    if (r != token_trie::k_none) walk(true, r, set, path);
    return true;
}

void trie_walker::walk(bool in_rest, std::uint32_t node, std::uint32_t set, const std::string& path) {
    const token_trie& t = in_rest ? vocab_.rest_trie() : vocab_.trie();
    if (set == parse_space::k_dead) return;
    if (entry_ != nullptr && space_.has_wild(set)) return uncertain(t, in_rest, node, path);
    if (!in_rest && take_slice(node, set, path)) return;
    mark(t, node);
    auto& stack = stack_[in_rest];
    auto& p = path_[in_rest];
    if (stack.size() < t.max_depth + 2) stack.resize(t.max_depth + 2);
    p = path;
    const std::uint32_t base = t.depth[node];
    stack[0] = set;
    const std::uint32_t end = t.subtree_end[node];
    std::uint32_t i = node + 1;
    while (i < end) {
        const std::uint32_t depth = t.depth[i];
        const std::uint32_t d = depth - base;
        const std::uint32_t next = space_.step(stack[d - 1], t.byte[i]);
        if (next == parse_space::k_dead) {
            i = t.subtree_end[i];
            continue;
        }
        p.resize(depth);
        p[depth - 1] = static_cast<char>(t.byte[i]);
        if (entry_ != nullptr && space_.has_wild(next)) {
            uncertain(t, in_rest, i, p);
            i = t.subtree_end[i];
            continue;
        }
        if (!in_rest && t.boundary[i] && t.subtree_end[i] - i >= k_min_slice_subtree && take_slice(i, next, p)) {
            i = t.subtree_end[i];
            continue;
        }
        stack[d] = next;
        mark(t, i);
        ++i;
    }
}

}  // namespace sluice::grammar::detail
