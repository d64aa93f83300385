#include "grammar/token_trie.hpp"

#include <algorithm>
#include <numeric>

namespace sluice::grammar::detail {

std::string token_trie::path(std::uint32_t n) const {
    std::string out(depth[n], '\0');
    for (std::uint32_t i = depth[n]; i > 0; --i) {
        out[i - 1] = static_cast<char>(byte[n]);
        n = parent[n];
    }
    return out;
}

std::uint32_t token_trie::find(std::string_view p) const {
    if (p.empty()) return 0;
    std::uint32_t n = root_child[static_cast<std::uint8_t>(p[0])];
    if (n == 0) return k_none;
    for (char c : p.substr(1)) {
        std::uint32_t child = n + 1, found = k_none;
        while (child < subtree_end[n]) {
            if (byte[child] == static_cast<std::uint8_t>(c)) {
                found = child;
                break;
            }
            child = subtree_end[child];
        }
        if (found == k_none) return k_none;
        n = found;
    }
    return n;
}

token_trie token_trie::build(const std::vector<std::string>& pieces, const std::vector<std::uint8_t>& eligible,
                             const std::vector<std::uint8_t>& in_slice) {
    std::vector<std::int32_t> order;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        if (eligible[i] && !pieces[i].empty() && pieces[i].size() <= k_max_piece_bytes) order.push_back(static_cast<std::int32_t>(i));
    }
    std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
        return pieces[static_cast<std::size_t>(a)] < pieces[static_cast<std::size_t>(b)];
    });
    token_trie t;
    std::vector<std::uint8_t> pending;  // continuation bytes still due after the node (255: invalid)
    auto add_node = [&](std::uint8_t b, std::uint32_t d, std::uint32_t parent) {
        std::uint8_t p = 0;
        if (!t.byte.empty()) {
            std::uint8_t up = pending[parent];
            if (up == 255) p = 255;
            else if (up > 0) p = (b & 0xC0) == 0x80 ? static_cast<std::uint8_t>(up - 1) : 255;
            else if (b < 0x80) p = 0;
            else if (b >= 0xC2 && b <= 0xDF) p = 1;
            else if (b >= 0xE0 && b <= 0xEF) p = 2;
            else if (b >= 0xF0 && b <= 0xF4) p = 3;
            else p = 255;
        }
        pending.push_back(p);
        t.boundary.push_back(p == 0 ? 1 : 0);
        t.byte.push_back(b);
        t.depth.push_back(d);
        t.parent.push_back(parent);
        t.subtree_end.push_back(0);
        t.tokens_begin.push_back(static_cast<std::uint32_t>(t.token_ids.size()));
        t.max_depth = std::max(t.max_depth, d);
        return static_cast<std::uint32_t>(t.byte.size() - 1);
    };
    std::vector<std::uint32_t> path{add_node(0, 0, 0)};  // path[d] = node at depth d
    const std::string* prev = nullptr;
    for (std::int32_t id : order) {
        const std::string& p = pieces[static_cast<std::size_t>(id)];
        std::size_t common = 0;
        if (prev != nullptr) {
            std::size_t n = std::min(prev->size(), p.size());
            while (common < n && (*prev)[common] == p[common]) ++common;
        }
        while (path.size() > common + 1) {
            t.subtree_end[path.back()] = static_cast<std::uint32_t>(t.byte.size());
            path.pop_back();
        }
        for (std::size_t d = common; d < p.size(); ++d) {
            path.push_back(add_node(static_cast<std::uint8_t>(p[d]), static_cast<std::uint32_t>(d + 1), path.back()));
        }
        t.token_ids.push_back(id);
        t.token_in_slice.push_back(in_slice[static_cast<std::size_t>(id)]);
        prev = &p;
    }
    while (!path.empty()) {
        t.subtree_end[path.back()] = static_cast<std::uint32_t>(t.byte.size());
        path.pop_back();
    }
    t.tokens_begin.push_back(static_cast<std::uint32_t>(t.token_ids.size()));
    for (std::uint32_t n = 1; n < t.size(); n = t.subtree_end[n]) t.root_child[t.byte[n]] = n;
    t.nodes.resize(t.size());
    for (std::uint32_t n = 0; n < t.size(); ++n) {
        std::uint8_t flags = t.boundary[n] ? k_boundary : 0;
        if (t.tokens_begin[n] != t.tokens_begin[n + 1]) flags |= k_has_tokens;
        if (t.subtree_end[n] - n >= k_big_subtree_nodes) flags |= k_big_subtree;
        t.nodes[n] = {t.subtree_end[n], t.tokens_begin[n], static_cast<std::uint16_t>(t.depth[n]), t.byte[n], flags};
    }
    return t;
}

}  // namespace sluice::grammar::detail
