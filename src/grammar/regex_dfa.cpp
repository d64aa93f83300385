// DFA operations: product, complement, union, literal sets, length limits, trimming and
// minimisation (Moore partition refinement; sizes here are at most a few thousand states).
#include <algorithm>
#include <map>
#include <set>

#include "grammar/regex_automaton.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

using u = std::size_t;

// Adds a transition to a sink for every code point a state has none for.
dfa completed(const dfa& a) {
    dfa out = a;
    const int sink = static_cast<int>(out.states.size());
    out.states.emplace_back();
    out.states.back().next.emplace_back(code_set::any(), sink);
    for (dfa_state& s : out.states) {
        code_set covered;
        for (const auto& [chars, to] : s.next) covered.add(chars);
        code_set missing = covered.negated();
        if (!missing.empty()) s.next.emplace_back(std::move(missing), sink);
    }
    return out;
}

template <typename Accept>
dfa product(const dfa& a, const dfa& b, std::size_t max_states, Accept accept) {
    dfa out;
    std::map<std::pair<int, int>, int> ids;
    std::vector<std::pair<int, int>> queue;
    auto id_of = [&](int x, int y) {
        auto [it, inserted] = ids.emplace(std::make_pair(x, y), static_cast<int>(out.states.size()));
        if (inserted) {
            if (out.states.size() >= max_states) throw regex_error("automaton too large");
            dfa_state st;
            st.accept = accept(a.states[u(x)].accept, b.states[u(y)].accept);
            out.states.push_back(std::move(st));
            queue.emplace_back(x, y);
        }
        return it->second;
    };
    id_of(0, 0);
    for (std::size_t i = 0; i < queue.size(); ++i) {
        const auto [x, y] = queue[i];
        std::map<int, code_set> by_target;
        for (const auto& [ca, ta] : a.states[u(x)].next) {
            for (const auto& [cb, tb] : b.states[u(y)].next) {
                code_set both = ca.intersected(cb);
                if (both.empty()) continue;
                by_target[id_of(ta, tb)].add(both);
            }
        }
        for (auto& [to, chars] : by_target) out.states[i].next.emplace_back(std::move(chars), to);
    }
    return out;
}

std::vector<char> reachable_from_start(const dfa& a) {
    std::vector<char> seen(a.states.size(), 0);
    std::vector<int> stack{0};
    seen[0] = 1;
    while (!stack.empty()) {
        const int s = stack.back();
        stack.pop_back();
        for (const auto& [chars, to] : a.states[u(s)].next) {
            if (seen[u(to)] == 0) {
                seen[u(to)] = 1;
                stack.push_back(to);
            }
        }
    }
    return seen;
}

std::vector<char> can_accept(const dfa& a) {
    std::vector<std::vector<int>> rev(a.states.size());
    std::vector<int> stack;
    std::vector<char> live(a.states.size(), 0);
    for (std::size_t s = 0; s < a.states.size(); ++s) {
        for (const auto& [chars, to] : a.states[s].next) rev[u(to)].push_back(static_cast<int>(s));
        if (a.states[s].accept) {
            live[s] = 1;
            stack.push_back(static_cast<int>(s));
        }
    }
    while (!stack.empty()) {
        const int s = stack.back();
        stack.pop_back();
        for (int p : rev[u(s)]) {
            if (live[u(p)] == 0) {
                live[u(p)] = 1;
                stack.push_back(p);
            }
        }
    }
    return live;
}

// Moore refinement: states are equivalent when they agree on acceptance and, per code
// point, move to equivalent states.
std::vector<int> equivalence_classes(const dfa& a) {
    std::vector<int> cls(a.states.size());
    for (std::size_t s = 0; s < a.states.size(); ++s) cls[s] = a.states[s].accept ? 1 : 0;
    for (;;) {
        using signature = std::pair<int, std::vector<std::pair<int, std::vector<std::pair<char32_t, char32_t>>>>>;
        std::map<signature, int> ids;
        std::vector<int> next(a.states.size());
        for (std::size_t s = 0; s < a.states.size(); ++s) {
            std::map<int, code_set> by_class;
            for (const auto& [chars, to] : a.states[s].next) by_class[cls[u(to)]].add(chars);
            signature sig;
            sig.first = cls[s];
            for (const auto& [c, chars] : by_class) {
                std::vector<std::pair<char32_t, char32_t>> rs;
                for (const code_range& r : chars.ranges()) rs.emplace_back(r.lo, r.hi);
                sig.second.emplace_back(c, std::move(rs));
            }
            auto [it, inserted] = ids.emplace(std::move(sig), static_cast<int>(ids.size()));
            next[s] = it->second;
        }
        const std::size_t before = std::set<int>(cls.begin(), cls.end()).size();
        if (ids.size() == before) return next;
        cls = std::move(next);
    }
}

}  // namespace

bool dfa::matches(std::u32string_view text) const {
    if (states.empty()) return false;
    int s = 0;
    for (char32_t c : text) {
        int to = -1;
        for (const auto& [chars, t] : states[u(s)].next) {
            if (chars.contains(c)) {
                to = t;
                break;
            }
        }
        if (to < 0) return false;
        s = to;
    }
    return states[u(s)].accept;
}

bool dfa::empty() const {
    if (states.empty()) return true;
    const std::vector<char> seen = reachable_from_start(*this);
    for (std::size_t s = 0; s < states.size(); ++s) {
        if (seen[s] != 0 && states[s].accept) return false;
    }
    return true;
}

dfa literal_dfa(const std::vector<std::u32string>& words) {
    dfa out;
    out.states.emplace_back();
    for (const std::u32string& w : words) {
        int s = 0;
        for (char32_t c : w) {
            int to = -1;
            for (const auto& [chars, t] : out.states[u(s)].next) {
                if (chars.contains(c)) to = t;
            }
            if (to < 0) {
                to = static_cast<int>(out.states.size());
                out.states.emplace_back();
                out.states[u(s)].next.emplace_back(code_set(c, c), to);
            }
            s = to;
        }
        out.states[u(s)].accept = true;
    }
    return out;
}

dfa length_dfa(std::size_t min_len, long long max_len) {
    dfa out;
    const std::size_t last = max_len < 0 ? min_len : static_cast<std::size_t>(max_len);
    out.states.resize(last + 1);
    for (std::size_t i = 0; i <= last; ++i) {
        out.states[i].accept = i >= min_len;
        if (i < last) out.states[i].next.emplace_back(code_set::any(), static_cast<int>(i + 1));
    }
    if (max_len < 0) out.states[last].next.emplace_back(code_set::any(), static_cast<int>(last));
    return out;
}

dfa intersect(const dfa& a, const dfa& b, std::size_t max_states) {
    return trim(product(a, b, max_states, [](bool x, bool y) { return x && y; }));
}

dfa unite(const dfa& a, const dfa& b, std::size_t max_states) {
    return trim(product(completed(a), completed(b), max_states, [](bool x, bool y) { return x || y; }));
}

dfa complement(const dfa& a) {
    dfa out = completed(a.states.empty() ? dfa{std::vector<dfa_state>(1)} : a);
    for (dfa_state& s : out.states) s.accept = !s.accept;
    return trim(out);
}

dfa trim(const dfa& a) {
    if (a.states.empty()) return dfa{std::vector<dfa_state>(1)};
    const std::vector<char> from_start = reachable_from_start(a);
    const std::vector<char> live = can_accept(a);
    if (live[0] == 0) return dfa{std::vector<dfa_state>(1)};
    // Keep live reachable states, renumbered with the start first.
    std::vector<int> id(a.states.size(), -1);
    dfa kept;
    for (std::size_t s = 0; s < a.states.size(); ++s) {
        if (from_start[s] != 0 && live[s] != 0) {
            id[s] = static_cast<int>(kept.states.size());
            kept.states.push_back(dfa_state{{}, a.states[s].accept});
        }
    }
    for (std::size_t s = 0; s < a.states.size(); ++s) {
        if (id[s] < 0) continue;
        for (const auto& [chars, to] : a.states[s].next) {
            if (id[u(to)] >= 0) kept.states[u(id[s])].next.emplace_back(chars, id[u(to)]);
        }
    }
    // Merge equivalent states; class of the start becomes state 0.
    const std::vector<int> cls = equivalence_classes(kept);
    std::vector<int> renum(kept.states.size(), -1);
    dfa out;
    for (std::size_t s = 0; s < kept.states.size(); ++s) {
        if (renum[u(cls[s])] < 0) {
            renum[u(cls[s])] = static_cast<int>(out.states.size());
            out.states.push_back(dfa_state{{}, kept.states[s].accept});
            std::map<int, code_set> by_target;
            for (const auto& [chars, to] : kept.states[s].next) by_target[cls[u(to)]].add(chars);
            // Targets are renumbered below, once every class has its id.
            for (auto& [c, chars] : by_target) out.states.back().next.emplace_back(std::move(chars), c);
        }
    }
    for (dfa_state& st : out.states) {
        for (auto& [chars, to] : st.next) to = renum[u(to)];
    }
    return out;
}

}  // namespace sluice::grammar::json_schema_detail
