#include "grammar/lookahead_classes.hpp"

#include <numeric>
#include <unordered_map>

#include "grammar/parse_space.hpp"

namespace sluice::grammar::detail {

namespace {
constexpr std::size_t k_max_work = 1u << 20;  // state-rounds: at most some 30 ms, once per grammar
}

std::vector<std::uint32_t> lookahead_classes(const compiled_grammar& g, std::uint32_t depth) {
    const std::size_t n = g.states.size();
    std::vector<std::uint32_t> cls(n);
    std::iota(cls.begin(), cls.end(), 0u);
    if (n * (static_cast<std::size_t>(depth) + 2) > k_max_work) return cls;
    std::vector<bool> apart(g.rules.size(), false);
    for (const auto& st : g.states) {
        for (auto i = st.refs_begin; i < st.refs_end; ++i) {
            if (g.rules[g.ref_edges[i].rule].nullable) apart[st.rule] = true;
        }
    }
    // Round 0: accepting or not; states of `apart` rules each alone.
    std::size_t classes = 2;
    for (std::uint32_t s = 0; s < n; ++s) {
        cls[s] = apart[g.states[s].rule] ? static_cast<std::uint32_t>(2 + s) : (g.states[s].accepting ? 1u : 0u);
    }
    std::vector<std::uint32_t> next(n), sig;
    std::unordered_map<std::vector<std::uint32_t>, std::uint32_t, vector_hash> index;
    for (std::uint32_t round = 0; round <= depth; ++round) {
        index.clear();
        for (std::uint32_t s = 0; s < n; ++s) {
            const dfa_state& st = g.states[s];
            sig.assign(1, cls[s]);
            for (auto i = st.bytes_begin; i < st.bytes_end; ++i) {
                const byte_edge& e = g.byte_edges[i];
                sig.push_back(static_cast<std::uint32_t>(e.lo) << 8 | e.hi);
                sig.push_back(cls[e.target]);
            }
            sig.push_back(0xFFFFFFFFu);
            for (auto i = st.refs_begin; i < st.refs_end; ++i) {
                sig.push_back(g.ref_edges[i].rule);
                sig.push_back(cls[g.ref_edges[i].target]);
            }
            next[s] = index.try_emplace(sig, static_cast<std::uint32_t>(index.size())).first->second;
        }
        cls.swap(next);
        if (index.size() == classes) break;  // stable: exact equivalence from here on
        classes = index.size();
    }
    return cls;
}

}  // namespace sluice::grammar::detail
