#include "grammar/trie_walk.hpp"

#include <algorithm>

namespace sluice::grammar::detail {


void trie_walker::mark(const token_trie& t, std::uint32_t n) {
    if (t.tokens_begin[n] == t.tokens_begin[n + 1]) return;
    set_token_bits(t, n, mask_);
    marked = true;
}

void trie_walker::uncertain(const token_trie& t, bool in_rest, std::uint32_t n, const std::string* path) {
    entry_->uncertain_roots.push_back(n);
    entry_->root_in_rest.push_back(in_rest ? 1 : 0);
    std::string& bytes = entry_->root_bytes;
    if (path != nullptr) {
        bytes += *path;
    } else {  // the node's path, written back to front straight from the trie
        const std::size_t end = bytes.size() + t.depth[n];
        bytes.resize(end);
        std::uint32_t m = n;
        for (std::size_t i = end; i > end - t.depth[n]; m = t.parent[m]) bytes[--i] = static_cast<char>(t.byte[m]);
    }
    entry_->root_path_end.push_back(static_cast<std::uint32_t>(bytes.size()));
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

bool trie_walker::walk_root(std::uint32_t set) {
    const token_trie& full = vocab_.trie();
    const token_trie& rest = vocab_.rest_trie();
    auto usable = [&](std::uint32_t y) {
        return y != parse_space::k_dead && !(entry_ != nullptr && space_.has_wild(y)) && space_.closed_under_text(y);
    };
    bool closed[256] = {};
    std::vector<const std::vector<std::uint32_t>*> in, out;  // slice groups by first character
    for (unsigned b = 0; b < 0x80; ++b) {
        if (vocab_.text_slice_first(b).empty()) continue;
        closed[b] = usable(space_.step(set, static_cast<std::uint8_t>(b)));
        (closed[b] ? in : out).push_back(&vocab_.text_slice_first(b));
    }
    if (in.empty()) return false;  // nothing to gain: the plain walk
    std::vector<std::uint32_t> targets;
    if (!vocab_.text_slice_first(128).empty()) {
        bool non_ascii = space_.multibyte_targets(set, targets) && std::all_of(targets.begin(), targets.end(), usable);
        for (unsigned b = 0x80; b < 0x100; ++b) closed[b] = non_ascii;
        (non_ascii ? in : out).push_back(&vocab_.text_slice_first(128));
    }
    // The slice tokens whose first character leads to a closed set: all of them, at once,
    // as the union of those groups or the slice minus the others, whichever is shorter.
    const auto& slice = vocab_.text_slice();
    if (in.size() <= out.size()) {
        for (const auto* g : in) {
            for (std::size_t w = 0; w < slice.size(); ++w) mask_[w] |= (*g)[w];
        }
    } else {
        for (std::size_t w = 0; w < slice.size(); ++w) {
            std::uint32_t bits = slice[w];
            for (const auto* g : out) bits &= ~(*g)[w];
            mask_[w] |= bits;
        }
    }
    marked = true;
    // Then every first byte's subtree: the rest trie's below a closed set, else the full trie's.
    std::string path(1, '\0');
    for (unsigned b = 0; b < 0x100; ++b) {
        const token_trie& t = closed[b] ? rest : full;
        std::uint32_t child = t.root_child[b];
        if (child == 0) continue;
        std::uint32_t next = space_.step(set, static_cast<std::uint8_t>(b));
        if (next == parse_space::k_dead) continue;
        path[0] = static_cast<char>(b);
        walk(closed[b], child, next, path);
    }
    return true;
}

void trie_walker::walk(bool in_rest, std::uint32_t node, std::uint32_t set, const std::string& path) {
    const token_trie& t = in_rest ? vocab_.rest_trie() : vocab_.trie();
    if (set == parse_space::k_dead) return;
    if (entry_ != nullptr && space_.has_wild(set)) return uncertain(t, in_rest, node, &path);
    if (!in_rest && node == 0 && !space_.closed_under_text(set) && walk_root(set)) return;
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
            uncertain(t, in_rest, i, nullptr);
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
