// Pattern -> Thompson NFA -> DFA by subset construction. JSON Schema patterns are not
// anchored, so the NFA is `.* (P) .*` where ^ and $ inside P are assertions: a ^ edge may
// only be taken before the first character, a $ edge only after the last one.
#include <algorithm>
#include <map>

#include "grammar/regex_ast.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

constexpr std::size_t k_max_nfa_states = 20000;

struct nfa_edge {
    enum class kind : std::uint8_t { chars, eps, bol, eol };
    kind k;
    int set;  // index into nfa::sets (chars only)
    int to;
};

struct nfa {
    std::vector<std::vector<nfa_edge>> out;
    std::vector<code_set> sets;

    int add_state() {
        if (out.size() >= k_max_nfa_states) throw regex_error("pattern too large (NFA states)");
        out.emplace_back();
        return static_cast<int>(out.size() - 1);
    }
    void edge(int from, nfa_edge::kind k, int to, int set = -1) {
        out[static_cast<std::size_t>(from)].push_back({k, set, to});
    }
    int chars(int from, const code_set& s) {
        sets.push_back(s);
        const int to = add_state();
        edge(from, nfa_edge::kind::chars, to, static_cast<int>(sets.size() - 1));
        return to;
    }
};

// Appends `n` after state `from`; returns the state where it ends.
int build(nfa& a, const regex_node& n, int from) {
    switch (n.k) {
        case regex_node::kind::empty: return from;
        case regex_node::kind::chars: return a.chars(from, n.set);
        case regex_node::kind::line_start:
        case regex_node::kind::line_end: {
            const int to = a.add_state();
            a.edge(from, n.k == regex_node::kind::line_start ? nfa_edge::kind::bol : nfa_edge::kind::eol, to);
            return to;
        }
        case regex_node::kind::concat: {
            int cur = from;
            for (const auto& item : n.items) cur = build(a, *item, cur);
            return cur;
        }
        case regex_node::kind::alt: {
            const int end = a.add_state();
            for (const auto& item : n.items) {
                const int s = a.add_state();
                a.edge(from, nfa_edge::kind::eps, s);
                a.edge(build(a, *item, s), nfa_edge::kind::eps, end);
            }
            return end;
        }
        case regex_node::kind::repeat: {
            const regex_node& child = *n.items.front();
            int cur = from;
            for (int i = 0; i < n.min; ++i) cur = build(a, child, cur);
            if (n.max < 0) {
                const int loop = a.add_state();
                a.edge(cur, nfa_edge::kind::eps, loop);
                a.edge(build(a, child, loop), nfa_edge::kind::eps, loop);
                return loop;
            }
            const int end = a.add_state();
            for (int i = n.min; i < n.max; ++i) {
                a.edge(cur, nfa_edge::kind::eps, end);
                cur = build(a, child, cur);
            }
            a.edge(cur, nfa_edge::kind::eps, end);
            return end;
        }
    }
    return from;
}

std::vector<int> closure(const nfa& a, std::vector<int> states, bool allow_bol, bool allow_eol) {
    std::vector<char> seen(a.out.size(), 0);
    for (int s : states) seen[static_cast<std::size_t>(s)] = 1;
    std::vector<int> stack = states;
    while (!stack.empty()) {
        const int s = stack.back();
        stack.pop_back();
        for (const nfa_edge& e : a.out[static_cast<std::size_t>(s)]) {
            const bool follow = e.k == nfa_edge::kind::eps || (e.k == nfa_edge::kind::bol && allow_bol) ||
                                (e.k == nfa_edge::kind::eol && allow_eol);
            if (follow && seen[static_cast<std::size_t>(e.to)] == 0) {
                seen[static_cast<std::size_t>(e.to)] = 1;
                states.push_back(e.to);
                stack.push_back(e.to);
            }
        }
    }
    std::sort(states.begin(), states.end());
    return states;
}

class subset_builder {
public:
    subset_builder(const nfa& a, int accept, std::size_t max_states)
        : nfa_(a), accept_(accept), max_states_(max_states) {}

    dfa run(int start) {
        add({start}, true);
        for (std::size_t i = 0; i < queue_.size(); ++i) expand(static_cast<int>(i));
        return std::move(out_);
    }

private:
    int add(const std::vector<int>& seeds, bool at_start) {
        std::vector<int> set = closure(nfa_, seeds, at_start, false);
        auto key = std::make_pair(set, at_start);
        if (auto it = ids_.find(key); it != ids_.end()) return it->second;
        if (out_.states.size() >= max_states_) throw regex_error("pattern too complex (DFA states)");
        const int id = static_cast<int>(out_.states.size());
        ids_.emplace(key, id);
        dfa_state st;
        const std::vector<int> with_eol = closure(nfa_, set, at_start, true);
        st.accept = std::binary_search(with_eol.begin(), with_eol.end(), accept_);
        out_.states.push_back(std::move(st));
        queue_.push_back(std::move(set));
        return id;
    }

    void expand(int id) {
        const std::vector<int> set = queue_[static_cast<std::size_t>(id)];
        std::vector<const nfa_edge*> edges;
        std::vector<char32_t> cuts;
        for (int s : set) {
            for (const nfa_edge& e : nfa_.out[static_cast<std::size_t>(s)]) {
                if (e.k != nfa_edge::kind::chars) continue;
                edges.push_back(&e);
                for (const code_range& r : nfa_.sets[static_cast<std::size_t>(e.set)].ranges()) {
                    cuts.push_back(r.lo);
                    cuts.push_back(r.hi + 1);
                }
            }
        }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        std::map<int, code_set> by_target;
        for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
            const char32_t c = cuts[i];
            std::vector<int> targets;
            for (const nfa_edge* e : edges) {
                if (nfa_.sets[static_cast<std::size_t>(e->set)].contains(c)) targets.push_back(e->to);
            }
            if (targets.empty()) continue;
            std::sort(targets.begin(), targets.end());
            targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
            const int to = add(targets, false);
            by_target[to].add(c, cuts[i + 1] - 1);
        }
        for (auto& [to, chars] : by_target) {
            out_.states[static_cast<std::size_t>(id)].next.emplace_back(std::move(chars), to);
        }
    }

    const nfa& nfa_;
    int accept_;
    std::size_t max_states_;
    std::map<std::pair<std::vector<int>, bool>, int> ids_;
    std::vector<std::vector<int>> queue_;
    dfa out_;
};

}  // namespace

namespace {

// "^(?=X)rest" / "^(?!X)rest": the position of the group's closing parenthesis, or npos.
std::size_t leading_lookahead_end(std::string_view p) {
    if (p.size() < 5 || p.substr(0, 3) != "^(?" || (p[3] != '=' && p[3] != '!')) return std::string_view::npos;
    int depth = 0;
    bool in_class = false;
    for (std::size_t i = 1; i < p.size(); ++i) {
        const char c = p[i];
        if (c == '\\') {
            ++i;
        } else if (in_class) {
            in_class = c != ']';
        } else if (c == '[') {
            in_class = true;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')' && --depth == 0) {
            return i;
        }
    }
    return std::string_view::npos;
}

dfa compile_plain(std::string_view pattern, std::size_t max_states);

}  // namespace

dfa compile_pattern(std::string_view pattern, std::size_t max_states) {
    // A lookahead right after the leading ^ is an intersection with (or without) the strings
    // that start with X; other lookarounds are refused by the parser.
    if (const std::size_t end = leading_lookahead_end(pattern); end != std::string_view::npos) {
        const bool positive = pattern[3] == '=';
        const std::string head = "^(?:" + std::string(pattern.substr(4, end - 4)) + ")";
        const std::string rest = "^" + std::string(pattern.substr(end + 1));
        const dfa x = compile_pattern(head, max_states);
        return intersect(compile_pattern(rest, max_states), positive ? x : complement(x), max_states);
    }
    return compile_plain(pattern, max_states);
}

namespace {

dfa compile_plain(std::string_view pattern, std::size_t max_states) {
    const std::unique_ptr<regex_node> ast = parse_regex(pattern);
    nfa a;
    const int start = a.add_state();
    a.chars(start, code_set::any());
    a.out[0].back().to = start;  // .* before the match
    const int body = a.add_state();
    a.edge(start, nfa_edge::kind::eps, body);
    const int end = build(a, *ast, body);
    const int accept = a.add_state();
    a.edge(end, nfa_edge::kind::eps, accept);
    a.chars(accept, code_set::any());
    a.out[static_cast<std::size_t>(accept)].back().to = accept;  // .* after the match
    return trim(subset_builder(a, accept, max_states).run(start));
}

}  // namespace

}  // namespace sluice::grammar::json_schema_detail
