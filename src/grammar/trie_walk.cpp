#include "grammar/trie_walk.hpp"

namespace sluice::grammar::detail {


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
    if (!t.boundary[n] || (n != 0 && t.subtree_end[n] - n < token_trie::k_big_subtree_nodes) ||
        !space_.closed_under_text(set)) {
        return false;
    }
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
    if (stack.size() < t.max_depth + 2) stack.resize(t.max_depth + 2);
    const token_trie::packed_node* nodes = t.nodes.data();
    const std::uint32_t base = nodes[node].depth;
    stack[0] = set;
    const std::uint32_t end = nodes[node].subtree_end;
    constexpr std::uint8_t k_slice_candidate = token_trie::k_boundary | token_trie::k_big_subtree;
    std::uint32_t i = node + 1;
    while (i < end) {
        const token_trie::packed_node& nd = nodes[i];
        const std::uint32_t d = nd.depth - base;
        const std::uint32_t next = space_.step(stack[d - 1], nd.byte);
        if (next == parse_space::k_dead) {
            i = nd.subtree_end;
            continue;
        }
        if (entry_ != nullptr && space_.has_wild(next)) {
            uncertain(t, in_rest, i, t.path(i));
            i = nd.subtree_end;
            continue;
        }
        if (!in_rest && (nd.flags & k_slice_candidate) == k_slice_candidate && take_slice(i, next, t.path(i))) {
            i = nd.subtree_end;
            continue;
        }
        stack[d] = next;
        if (nd.flags & token_trie::k_has_tokens) {
            set_token_bits(t, i, mask_);
            marked = true;
        }
        ++i;
    }
}

}  // namespace sluice::grammar::detail
