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

token_trie token_trie::build(const std::vector<std::string>& pieces, const std::vector<std::uint8_t>& eligible) {
    std::vector<std::int32_t> order;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        if (eligible[i] && !pieces[i].empty()) order.push_back(static_cast<std::int32_t>(i));
    }
    std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
        return pieces[static_cast<std::size_t>(a)] < pieces[static_cast<std::size_t>(b)];
    });
    token_trie t;
    auto add_node = [&](std::uint8_t b, std::uint32_t d, std::uint32_t parent) {
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
        prev = &p;
    }
    while (!path.empty()) {
        t.subtree_end[path.back()] = static_cast<std::uint32_t>(t.byte.size());
        path.pop_back();
    }
    t.tokens_begin.push_back(static_cast<std::uint32_t>(t.token_ids.size()));
    return t;
}

}  // namespace sluice::grammar::detail
