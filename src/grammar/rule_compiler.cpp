// ast_grammar -> compiled_grammar: each rule becomes a Thompson NFA over bytes and rule
// references (code point classes expanded to UTF-8 byte sequences), then a DFA by subset
// construction. Afterwards the grammar-wide checks: nullable and productive rules, left
// recursion. Every loop is iterative and every structure is bounded by grammar_limits.
#include <algorithm>
#include <map>
#include <string>
#include <unordered_set>

#include "grammar/compiled_grammar.hpp"
#include "grammar/utf8_ranges.hpp"

namespace sluice::grammar::detail {

namespace {

struct nfa_state {
    std::vector<std::uint32_t> eps;
    std::vector<byte_edge> bytes;
    std::vector<ref_edge> refs;
};

struct fragment {
    std::uint32_t start, end;
};

class nfa_builder {
public:
    nfa_builder(std::size_t max_states, const std::string& rule) : max_states_(max_states), rule_(rule) {}

    std::vector<nfa_state> states;

    std::uint32_t add() {
        if (states.size() >= max_states_) {
            throw grammar_error("rule '" + rule_ + "' needs more than " + std::to_string(max_states_) +
                                " automaton states (too large or too many repetitions)");
        }
        states.emplace_back();
        return static_cast<std::uint32_t>(states.size() - 1);
    }

    fragment build(const ast_node& n) {
        switch (n.k) {
            case ast_node::kind::sequence: {
                fragment f{add(), 0};
                f.end = f.start;
                for (const auto& c : n.children) {
                    fragment cf = build(c);
                    states[f.end].eps.push_back(cf.start);
                    f.end = cf.end;
                }
                return f;
            }
            case ast_node::kind::alternatives: {
                fragment f{add(), add()};
                for (const auto& c : n.children) {
                    fragment cf = build(c);
                    states[f.start].eps.push_back(cf.start);
                    states[cf.end].eps.push_back(f.end);
                }
                return f;
            }
            case ast_node::kind::char_class: return build_class(n.ranges);
            case ast_node::kind::rule_ref: {
                fragment f{add(), add()};
                states[f.start].refs.push_back({n.rule, f.end});
                return f;
            }
            case ast_node::kind::repeat: return build_repeat(n);
        }
        return {add(), 0};
    }

private:
    fragment build_class(const code_point_ranges& ranges) {
        std::vector<byte_sequence> seqs;
        for (auto [lo, hi] : ranges) utf8_sequences(lo, hi, seqs);
        fragment f{add(), add()};
        for (const auto& seq : seqs) {
            std::uint32_t cur = f.start;
            for (std::size_t i = 0; i < seq.size(); ++i) {
                std::uint32_t next = i + 1 == seq.size() ? f.end : add();
                states[cur].bytes.push_back({seq[i].first, seq[i].second, next});
                cur = next;
            }
        }
        return f;
    }

    fragment build_repeat(const ast_node& n) {
        const ast_node& item = n.children.front();
        fragment f{add(), 0};
        f.end = f.start;
        for (std::uint32_t i = 0; i < n.min; ++i) {
            fragment cf = build(item);
            states[f.end].eps.push_back(cf.start);
            f.end = cf.end;
        }
        if (n.max == k_unbounded) {
            fragment cf = build(item);
            std::uint32_t loop = add();
            states[f.end].eps.push_back(loop);
            states[loop].eps.push_back(cf.start);
            states[cf.end].eps.push_back(loop);
            f.end = loop;
            return f;
        }
        // n.max - n.min optional copies, each skippable to the common end.
        std::uint32_t end = add();
        for (std::uint32_t i = n.min; i < n.max; ++i) {
            fragment cf = build(item);
            states[f.end].eps.push_back(cf.start);
            states[f.end].eps.push_back(end);
            f.end = cf.end;
        }
        states[f.end].eps.push_back(end);
        f.end = end;
        return f;
    }

    std::size_t max_states_;
    const std::string& rule_;
};

using state_set = std::vector<std::uint32_t>;

void eps_close(const std::vector<nfa_state>& nfa, state_set& set, std::vector<std::uint32_t>& mark, std::uint32_t stamp) {
    std::vector<std::uint32_t> work(set.begin(), set.end());
    for (auto s : set) mark[s] = stamp;
    while (!work.empty()) {
        std::uint32_t s = work.back();
        work.pop_back();
        for (auto t : nfa[s].eps) {
            if (mark[t] != stamp) {
                mark[t] = stamp;
                set.push_back(t);
                work.push_back(t);
            }
        }
    }
    std::sort(set.begin(), set.end());
}

class dfa_builder {
public:
    dfa_builder(compiled_grammar& g, const grammar_limits& limits) : g_(g), limits_(limits) {}

    // Appends the DFA of rule `r` to g_ and returns its start state.
    std::uint32_t build(std::uint32_t r, const std::vector<nfa_state>& nfa, fragment f) {
        std::vector<std::uint32_t> mark(nfa.size(), 0);
        std::uint32_t stamp = 0;
        std::map<state_set, std::uint32_t> index;
        std::vector<state_set> pending;
        std::vector<std::uint32_t> pending_id;
        auto intern = [&](state_set s) {
            eps_close(nfa, s, mark, ++stamp);
            auto it = index.find(s);
            if (it != index.end()) return it->second;
            if (g_.states.size() >= limits_.max_states) {
                throw grammar_error("grammar needs more than " + std::to_string(limits_.max_states) +
                                    " automaton states (in rule '" + g_.rules[r].name + "')");
            }
            auto id = static_cast<std::uint32_t>(g_.states.size());
            g_.states.emplace_back();
            g_.states.back().rule = r;
            index.emplace(s, id);
            pending.push_back(std::move(s));
            pending_id.push_back(id);
            return id;
        };
        std::uint32_t start = intern({f.start});
        // Edges are collected per DFA state, then appended in state order at the end.
        std::vector<std::pair<std::uint32_t, std::vector<byte_edge>>> bytes_of;
        std::vector<std::pair<std::uint32_t, std::vector<ref_edge>>> refs_of;
        while (!pending.empty()) {
            state_set set = std::move(pending.back());
            std::uint32_t id = pending_id.back();
            pending.pop_back();
            pending_id.pop_back();
            g_.states[id].accepting = std::binary_search(set.begin(), set.end(), f.end);
            bytes_of.emplace_back(id, byte_transitions(nfa, set, intern));
            refs_of.emplace_back(id, ref_transitions(nfa, set, intern));
        }
        std::sort(bytes_of.begin(), bytes_of.end(), [](auto& a, auto& b) { return a.first < b.first; });
        std::sort(refs_of.begin(), refs_of.end(), [](auto& a, auto& b) { return a.first < b.first; });
        for (std::size_t i = 0; i < bytes_of.size(); ++i) {
            dfa_state& st = g_.states[bytes_of[i].first];
            st.bytes_begin = static_cast<std::uint32_t>(g_.byte_edges.size());
            g_.byte_edges.insert(g_.byte_edges.end(), bytes_of[i].second.begin(), bytes_of[i].second.end());
            st.bytes_end = static_cast<std::uint32_t>(g_.byte_edges.size());
            st.refs_begin = static_cast<std::uint32_t>(g_.ref_edges.size());
            g_.ref_edges.insert(g_.ref_edges.end(), refs_of[i].second.begin(), refs_of[i].second.end());
            st.refs_end = static_cast<std::uint32_t>(g_.ref_edges.size());
            st.final_only = st.accepting && st.bytes_begin == st.bytes_end && st.refs_begin == st.refs_end;
        }
        return start;
    }

private:
    template <class Intern>
    static std::vector<byte_edge> byte_transitions(const std::vector<nfa_state>& nfa, const state_set& set, Intern& intern) {
        std::vector<unsigned> cuts;
        for (auto s : set) {
            for (const auto& e : nfa[s].bytes) {
                cuts.push_back(e.lo);
                cuts.push_back(static_cast<unsigned>(e.hi) + 1);
            }
        }
        std::vector<byte_edge> out;
        if (cuts.empty()) return out;
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
            unsigned lo = cuts[i], hi = cuts[i + 1] - 1;
            state_set targets;
            for (auto s : set) {
                for (const auto& e : nfa[s].bytes) {
                    if (e.lo <= lo && hi <= e.hi) targets.push_back(e.target);
                }
            }
            if (targets.empty()) continue;
            std::sort(targets.begin(), targets.end());
            targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
            std::uint32_t t = intern(std::move(targets));
            if (!out.empty() && out.back().target == t && out.back().hi + 1u == lo) {
                out.back().hi = static_cast<std::uint8_t>(hi);
            } else {
                out.push_back({static_cast<std::uint8_t>(lo), static_cast<std::uint8_t>(hi), t});
            }
        }
        return out;
    }

    template <class Intern>
    static std::vector<ref_edge> ref_transitions(const std::vector<nfa_state>& nfa, const state_set& set, Intern& intern) {
        std::vector<ref_edge> all;
        for (auto s : set) all.insert(all.end(), nfa[s].refs.begin(), nfa[s].refs.end());
        std::sort(all.begin(), all.end(), [](const ref_edge& a, const ref_edge& b) {
            return a.rule != b.rule ? a.rule < b.rule : a.target < b.target;
        });
        std::vector<ref_edge> out;
        for (std::size_t i = 0; i < all.size();) {
            std::size_t j = i;
            state_set targets;
            while (j < all.size() && all[j].rule == all[i].rule) targets.push_back(all[j++].target);
            targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
            std::uint32_t rule = all[i].rule;
            std::uint32_t t = intern(std::move(targets));
            out.push_back({rule, t});
            i = j;
        }
        return out;
    }

    compiled_grammar& g_;
    const grammar_limits& limits_;
};

// Fixpoint over rules: `good(r)` when r's start reaches an accepting state through byte
// edges (when `through_bytes`) and references to good rules. Re-examines a rule only when a
// rule it references turns good.
std::vector<bool> rule_fixpoint(const compiled_grammar& g, bool through_bytes) {
    const std::size_t n = g.rules.size();
    std::vector<std::vector<std::uint32_t>> users(n);
    for (std::uint32_t s = 0; s < g.states.size(); ++s) {
        for (auto i = g.states[s].refs_begin; i < g.states[s].refs_end; ++i) users[g.ref_edges[i].rule].push_back(g.states[s].rule);
    }
    for (auto& u : users) {
        std::sort(u.begin(), u.end());
        u.erase(std::unique(u.begin(), u.end()), u.end());
    }
    std::vector<bool> good(n, false);
    std::vector<std::uint32_t> work(n);
    for (std::uint32_t r = 0; r < n; ++r) work[r] = r;
    std::vector<std::uint32_t> mark(g.states.size(), 0);
    std::uint32_t stamp = 0;
    std::vector<std::uint32_t> stack;
    while (!work.empty()) {
        std::uint32_t r = work.back();
        work.pop_back();
        if (good[r]) continue;
        ++stamp;
        stack.assign(1, g.rules[r].start);
        mark[g.rules[r].start] = stamp;
        bool found = false;
        while (!stack.empty() && !found) {
            std::uint32_t s = stack.back();
            stack.pop_back();
            const dfa_state& st = g.states[s];
            if (st.accepting) found = true;
            auto visit = [&](std::uint32_t t) {
                if (mark[t] != stamp) {
                    mark[t] = stamp;
                    stack.push_back(t);
                }
            };
            if (through_bytes) {
                for (auto i = st.bytes_begin; i < st.bytes_end; ++i) visit(g.byte_edges[i].target);
            }
            for (auto i = st.refs_begin; i < st.refs_end; ++i) {
                if (good[g.ref_edges[i].rule]) visit(g.ref_edges[i].target);
            }
        }
        if (found) {
            good[r] = true;
            for (auto u : users[r]) {
                if (!good[u]) work.push_back(u);
            }
        }
    }
    return good;
}

std::vector<bool> reachable_rules(const compiled_grammar& g) {
    std::vector<std::vector<std::uint32_t>> refs(g.rules.size());
    for (const auto& st : g.states) {
        for (auto i = st.refs_begin; i < st.refs_end; ++i) refs[st.rule].push_back(g.ref_edges[i].rule);
    }
    std::vector<bool> seen(g.rules.size(), false);
    std::vector<std::uint32_t> stack{g.root};
    seen[g.root] = true;
    while (!stack.empty()) {
        auto r = stack.back();
        stack.pop_back();
        for (auto t : refs[r]) {
            if (!seen[t]) {
                seen[t] = true;
                stack.push_back(t);
            }
        }
    }
    return seen;
}

// A rule that can reach itself through references at positions reachable from its start
// without consuming a byte would make the parser's closure infinite.
void check_left_recursion(const compiled_grammar& g, const std::vector<bool>& reachable) {
    const std::size_t n = g.rules.size();
    std::vector<std::vector<std::uint32_t>> left(n);
    std::vector<std::uint32_t> mark(g.states.size(), 0);
    std::uint32_t stamp = 0;
    for (std::uint32_t r = 0; r < n; ++r) {
        if (!reachable[r]) continue;
        ++stamp;
        std::vector<std::uint32_t> stack{g.rules[r].start};
        mark[g.rules[r].start] = stamp;
        while (!stack.empty()) {
            const dfa_state& st = g.states[stack.back()];
            stack.pop_back();
            for (auto i = st.refs_begin; i < st.refs_end; ++i) {
                const ref_edge& e = g.ref_edges[i];
                left[r].push_back(e.rule);
                if (g.rules[e.rule].nullable && mark[e.target] != stamp) {
                    mark[e.target] = stamp;
                    stack.push_back(e.target);
                }
            }
        }
    }
    // Iterative DFS with colours: 1 = on the current path, 2 = done.
    std::vector<std::uint8_t> colour(n, 0);
    for (std::uint32_t r = 0; r < n; ++r) {
        if (colour[r] != 0 || !reachable[r]) continue;
        std::vector<std::pair<std::uint32_t, std::size_t>> path{{r, 0}};
        colour[r] = 1;
        while (!path.empty()) {
            auto& [node, next] = path.back();
            if (next < left[node].size()) {
                std::uint32_t t = left[node][next++];
                if (colour[t] == 1) {
                    throw grammar_error("rule '" + g.rules[t].name + "' is left-recursive (it can reach itself before "
                                        "consuming any input, via '" + g.rules[node].name + "')", g.ast.rules[t].offset);
                }
                if (colour[t] == 0) {
                    colour[t] = 1;
                    path.emplace_back(t, 0);
                }
            } else {
                colour[node] = 2;
                path.pop_back();
            }
        }
    }
}

}  // namespace

std::unique_ptr<compiled_grammar> compile_ast(ast_grammar ast, const grammar_limits& limits) {
    auto g = std::make_unique<compiled_grammar>();
    g->rules.resize(ast.rules.size());
    for (std::size_t r = 0; r < ast.rules.size(); ++r) g->rules[r].name = ast.rules[r].name;
    g->root = ast.root;
    std::size_t nfa_budget = limits.max_states * 4;
    dfa_builder dfa(*g, limits);
    for (std::uint32_t r = 0; r < ast.rules.size(); ++r) {
        nfa_builder nfa(nfa_budget, ast.rules[r].name);
        fragment f = nfa.build(ast.rules[r].body);
        nfa_budget -= std::min(nfa_budget - 1, nfa.states.size());
        g->rules[r].start = dfa.build(r, nfa.states, f);
    }
    std::vector<bool> nullable = rule_fixpoint(*g, false);
    for (std::size_t r = 0; r < g->rules.size(); ++r) g->rules[r].nullable = nullable[r];
    g->ast = std::move(ast);
    std::vector<bool> reachable = reachable_rules(*g);
    std::vector<bool> productive = rule_fixpoint(*g, true);
    for (std::size_t r = 0; r < g->rules.size(); ++r) {
        if (reachable[r] && !productive[r]) {
            throw grammar_error("rule '" + g->rules[r].name + "' can never match a finite string", g->ast.rules[r].offset);
        }
    }
    check_left_recursion(*g, reachable);
    return g;
}

}  // namespace sluice::grammar::detail
