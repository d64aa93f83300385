// ast_grammar -> GBNF text (canonical escapes, one rule per line, root first).
#include "grammar/gbnf_printer.hpp"

#include "sluice/util/utf8.hpp"

namespace sluice::grammar::detail {

namespace {

void put_char(std::string& out, char32_t c, bool in_class) {
    static const char* hex = "0123456789ABCDEF";
    switch (c) {
        case U'\n': out += "\\n"; return;
        case U'\t': out += "\\t"; return;
        case U'\r': out += "\\r"; return;
        case U'\\': out += "\\\\"; return;
        default: break;
    }
    if ((c == U'"' && !in_class) || (in_class && (c == U']' || c == U'[' || c == U'-' || c == U'^'))) {
        out += '\\';
        out += static_cast<char>(c);
        return;
    }
    if (c < 0x20 || c == 0x7F) {
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
        return;
    }
    if (c >= 0x80 && c < 0xA0) {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
        return;
    }
    utf8::append(out, c);
}

bool is_literal_char(const ast_node& n) {
    return n.k == ast_node::kind::char_class && n.ranges.size() == 1 && n.ranges[0].first == n.ranges[0].second && !n.any_char;
}

class printer {
public:
    explicit printer(const ast_grammar& g) : g_(g) {}

    void node(std::string& out, const ast_node& n, bool grouped) {
        switch (n.k) {
            case ast_node::kind::alternatives:
                if (n.children.size() == 1) return node(out, n.children[0], grouped);
                if (grouped) out += '(';
                for (std::size_t i = 0; i < n.children.size(); ++i) {
                    if (i) out += " | ";
                    node(out, n.children[i], false);
                }
                if (grouped) out += ')';
                return;
            case ast_node::kind::sequence: {
                if (n.children.empty()) {
                    out += "\"\"";
                    return;
                }
                bool all_literal = true;
                for (const auto& c : n.children) all_literal = all_literal && is_literal_char(c);
                bool paren = grouped && n.children.size() > 1 && !all_literal;
                if (paren) out += '(';
                bool in_string = false;
                for (std::size_t i = 0; i < n.children.size(); ++i) {
                    const auto& c = n.children[i];
                    if (is_literal_char(c)) {
                        if (!in_string) {
                            if (i) out += ' ';
                            out += '"';
                            in_string = true;
                        }
                        put_char(out, c.ranges[0].first, false);
                        continue;
                    }
                    if (in_string) {
                        out += '"';
                        in_string = false;
                    }
                    if (i) out += ' ';
                    node(out, c, true);
                }
                if (in_string) out += '"';
                if (paren) out += ')';
                return;
            }
            case ast_node::kind::char_class: return char_class(out, n);
            case ast_node::kind::rule_ref: out += g_.rules[n.rule].name; return;
            case ast_node::kind::repeat: {
                node(out, n.children[0], true);
                if (n.min == 0 && n.max == k_unbounded) out += '*';
                else if (n.min == 1 && n.max == k_unbounded) out += '+';
                else if (n.min == 0 && n.max == 1) out += '?';
                else if (n.max == k_unbounded) out += '{' + std::to_string(n.min) + ",}";
                else if (n.min == n.max) out += '{' + std::to_string(n.min) + '}';
                else out += '{' + std::to_string(n.min) + ',' + std::to_string(n.max) + '}';
                return;
            }
        }
    }

private:
    void char_class(std::string& out, const ast_node& n) {
        if (n.any_char) {
            out += '.';
            return;
        }
        if (is_literal_char(n)) {
            out += '"';
            put_char(out, n.ranges[0].first, false);
            out += '"';
            return;
        }
        const code_point_ranges& r = n.negated ? complement_ranges(n.ranges) : n.ranges;
        out += n.negated ? "[^" : "[";
        for (auto [lo, hi] : r) {
            put_char(out, lo, true);
            if (hi != lo) {
                if (hi > lo + 1) out += '-';
                put_char(out, hi, true);
            }
        }
        out += ']';
    }

    const ast_grammar& g_;
};

void collect_refs(const ast_node& n, std::vector<std::uint32_t>& out) {
    if (n.k == ast_node::kind::rule_ref) out.push_back(n.rule);
    for (const auto& c : n.children) collect_refs(c, out);
}

}  // namespace

// Rules in breadth-first order of reference from the root (then unreachable ones), so printing
// a printed grammar gives the same text.
std::string print_gbnf(const ast_grammar& g) {
    std::string out;
    printer p(g);
    std::vector<bool> seen(g.rules.size(), false);
    std::vector<std::uint32_t> order{g.root};
    seen[g.root] = true;
    std::vector<std::uint32_t> refs;
    for (std::size_t i = 0; i < order.size(); ++i) {
        refs.clear();
        collect_refs(g.rules[order[i]].body, refs);
        for (auto r : refs) {
            if (!seen[r]) {
                seen[r] = true;
                order.push_back(r);
            }
        }
        if (i + 1 == order.size()) {
            for (std::uint32_t r = 0; r < g.rules.size(); ++r) {
                if (!seen[r]) {
                    seen[r] = true;
                    order.push_back(r);
                    break;
                }
            }
        }
    }
    for (auto r : order) {
        out += g.rules[r].name;
        out += " ::= ";
        p.node(out, g.rules[r].body, false);
        out += '\n';
    }
    return out;
}

}  // namespace sluice::grammar::detail
