// Recursive-descent parser for GBNF. Recursion depth is bounded by limits.max_nesting, so a
// hostile grammar gets a grammar_error, never a stack overflow.
#include "grammar/gbnf_parser.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "sluice/util/utf8.hpp"

namespace sluice::grammar::detail {

code_point_ranges normalise_ranges(code_point_ranges r) {
    std::sort(r.begin(), r.end());
    code_point_ranges merged;
    for (auto [lo, hi] : r) {
        if (lo > hi) continue;
        if (!merged.empty() && lo <= merged.back().second + 1) {
            merged.back().second = std::max(merged.back().second, hi);
        } else {
            merged.emplace_back(lo, hi);
        }
    }
    code_point_ranges out;  // cut out the surrogates D800-DFFF
    for (auto [lo, hi] : merged) {
        if (hi < 0xD800 || lo > 0xDFFF) {
            out.emplace_back(lo, hi);
            continue;
        }
        if (lo < 0xD800) out.emplace_back(lo, 0xD7FF);
        if (hi > 0xDFFF) out.emplace_back(0xE000, hi);
    }
    return out;
}

code_point_ranges complement_ranges(const code_point_ranges& r) {
    code_point_ranges out;
    char32_t next = 0;
    for (auto [lo, hi] : r) {
        if (lo > next) out.emplace_back(next, lo - 1);
        next = hi + 1;
    }
    if (next <= k_max_code_point) out.emplace_back(next, k_max_code_point);
    return normalise_ranges(std::move(out));
}

namespace {

class gbnf_parser {
public:
    gbnf_parser(std::string_view text, const grammar_limits& limits) : text_(text), limits_(limits) {}

    ast_grammar parse(std::string_view root) {
        if (text_.size() > limits_.max_text_bytes) {
            throw grammar_error("grammar is " + std::to_string(text_.size()) + " bytes, more than the limit of " +
                                std::to_string(limits_.max_text_bytes), 0);
        }
        skip_space(true);
        while (pos_ < text_.size()) {
            parse_rule();
            skip_space(true);
        }
        if (grammar_.rules.empty()) throw grammar_error("empty grammar: no rules defined", 0);
        for (const auto& r : grammar_.rules) {
            if (!r.defined) throw grammar_error("undefined rule '" + r.name + "'", r.offset);
        }
        auto it = index_.find(std::string(root));
        if (it == index_.end()) throw grammar_error("grammar has no '" + std::string(root) + "' rule", 0);
        grammar_.root = it->second;
        return std::move(grammar_);
    }

private:
    [[noreturn]] void fail(const std::string& what, std::size_t at) const {
        std::string msg = what + " at byte " + std::to_string(at);
        if (!current_rule_.empty()) msg += " (in rule '" + current_rule_ + "')";
        throw grammar_error(msg, at);
    }

    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }

    static bool is_word_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }

    // Skips blanks and comments; newlines only when `newlines` (inside parentheses, after
    // '|' or '::=', and between rules).
    void skip_space(bool newlines) {
        while (!at_end()) {
            char c = text_[pos_];
            if (c == ' ' || c == '\t') {
                ++pos_;
            } else if (c == '#') {
                while (!at_end() && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
            } else if (newlines && (c == '\n' || c == '\r')) {
                ++pos_;
            } else {
                break;
            }
        }
    }

    std::string parse_name() {
        std::size_t start = pos_;
        while (!at_end() && is_word_char(text_[pos_])) ++pos_;
        if (pos_ == start) fail("expected a rule name", start);
        return std::string(text_.substr(start, pos_ - start));
    }

    std::uint32_t rule_index(const std::string& name, std::size_t at) {
        auto [it, inserted] = index_.try_emplace(name, static_cast<std::uint32_t>(grammar_.rules.size()));
        if (inserted) {
            if (grammar_.rules.size() >= limits_.max_rules) {
                fail("more than " + std::to_string(limits_.max_rules) + " rules", at);
            }
            ast_rule r;
            r.name = name;
            r.offset = at;
            grammar_.rules.push_back(std::move(r));
        }
        return it->second;
    }

    void parse_rule() {
        std::size_t start = pos_;
        current_rule_.clear();
        std::string name = parse_name();
        current_rule_ = name;
        skip_space(false);
        if (text_.substr(pos_, 3) != "::=") fail("expected '::=' after rule name", pos_);
        pos_ += 3;
        skip_space(true);
        std::uint32_t idx = rule_index(name, start);
        if (grammar_.rules[idx].defined) fail("rule '" + name + "' is defined twice", start);
        ast_node body = parse_alternatives(0);
        grammar_.rules[idx].body = std::move(body);
        grammar_.rules[idx].defined = true;
        grammar_.rules[idx].offset = start;
        if (!at_end() && peek() != '\n' && peek() != '\r') fail("unexpected character '" + printable(peek()) + "'", pos_);
        current_rule_.clear();
    }

    static std::string printable(char c) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7F) return std::string(1, c);
        static const char* hex = "0123456789ABCDEF";
        return std::string("\\x") + hex[u >> 4] + hex[u & 15];
    }

    // A top-level alternative may continue on the next line when that line starts with '|'.
    bool next_line_continues() {
        std::size_t save = pos_;
        skip_space(true);
        if (peek() == '|') return true;
        pos_ = save;
        return false;
    }

    ast_node parse_alternatives(std::size_t depth) {
        if (depth > limits_.max_nesting) fail("grouping nested deeper than " + std::to_string(limits_.max_nesting), pos_);
        ast_node alt;
        alt.k = ast_node::kind::alternatives;
        alt.offset = pos_;
        bool nested = depth > 0;
        for (;;) {
            alt.children.push_back(parse_sequence(depth, nested));
            if (peek() == '|' || (!nested && next_line_continues())) {
                ++pos_;
                skip_space(true);
                continue;
            }
            break;
        }
        return alt;
    }

    ast_node parse_sequence(std::size_t depth, bool nested) {
        ast_node seq;
        seq.k = ast_node::kind::sequence;
        seq.offset = pos_;
        for (;;) {
            char c = peek();
            if (at_end() || c == '|' || c == ')' || c == '\n' || c == '\r') break;
            std::size_t at = pos_;
            if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (seq.children.empty()) fail(std::string("'") + c + "' without an element before it", at);
                ast_node& last = seq.children.back();
                std::size_t chain = 0;
                for (const ast_node* n = &last; n->k == ast_node::kind::repeat; n = &n->children.front()) ++chain;
                if (chain >= 4) fail("more than 4 repetition operators on one element", at);
                last = parse_repetition(std::move(last));
            } else {
                seq.children.push_back(parse_element(depth));
            }
            skip_space(nested);
        }
        return seq;
    }

    ast_node parse_repetition(ast_node item) {
        std::size_t at = pos_;
        ast_node rep;
        rep.k = ast_node::kind::repeat;
        rep.offset = at;
        char c = text_[pos_++];
        if (c == '*') {
            rep.min = 0, rep.max = k_unbounded;
        } else if (c == '+') {
            rep.min = 1, rep.max = k_unbounded;
        } else if (c == '?') {
            rep.min = 0, rep.max = 1;
        } else {  // {m} {m,} {m,n} {,n}
            skip_space(false);
            rep.min = peek() == ',' ? 0 : parse_int();
            skip_space(false);
            if (peek() == ',') {
                ++pos_;
                skip_space(false);
                rep.max = peek() == '}' ? k_unbounded : parse_int();
            } else {
                rep.max = rep.min;
            }
            skip_space(false);
            if (peek() != '}') fail("expected '}' to close the repetition", pos_);
            ++pos_;
            if (rep.max != k_unbounded && rep.max < rep.min) fail("repetition {m,n} with n < m", at);
        }
        rep.children.push_back(std::move(item));
        return rep;
    }

    std::uint32_t parse_int() {
        std::size_t start = pos_;
        std::uint64_t v = 0;
        while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') {
            v = v * 10 + static_cast<std::uint64_t>(text_[pos_] - '0');
            if (v > limits_.max_repeat) fail("repetition count above the limit of " + std::to_string(limits_.max_repeat), start);
            ++pos_;
        }
        if (pos_ == start) fail("expected a number in the repetition", start);
        return static_cast<std::uint32_t>(v);
    }

    ast_node parse_element(std::size_t depth) {
        std::size_t at = pos_;
        char c = peek();
        if (c == '"') return parse_literal();
        if (c == '[') return parse_class();
        if (c == '.') {
            ++pos_;
            ast_node n;
            n.k = ast_node::kind::char_class;
            n.any_char = true;
            n.ranges = normalise_ranges({{0, k_max_code_point}});
            n.offset = at;
            return n;
        }
        if (c == '(') {
            ++pos_;
            skip_space(true);
            ast_node inner = parse_alternatives(depth + 1);
            if (peek() != ')') fail("expected ')'", pos_);
            ++pos_;
            return inner;
        }
        if (is_word_char(c)) {
            std::string name = parse_name();
            ast_node n;
            n.k = ast_node::kind::rule_ref;
            n.rule = rule_index(name, at);
            n.offset = at;
            skip_space(false);
            if (text_.substr(pos_, 3) == "::=") fail("missing newline before the definition of '" + name + "'", at);
            return n;
        }
        if (c == '<') fail("token references (<...>) are not supported", at);
        fail("unexpected character '" + printable(c) + "'", at);
    }

    // One code point, decoding escapes; `in_class` also allows \[ \] \- \^.
    char32_t parse_char() {
        std::size_t at = pos_;
        if (at_end()) fail("unexpected end of grammar", at);
        if (text_[pos_] != '\\') {
            std::size_t used = 0;
            char32_t cp = utf8::decode(text_, pos_, used);
            if (cp == utf8::replacement && text_.substr(pos_, used) != "\xEF\xBF\xBD") fail("invalid UTF-8 in grammar", at);
            pos_ += used;
            return cp;
        }
        ++pos_;
        if (at_end()) fail("unexpected end after '\\'", at);
        char e = text_[pos_++];
        switch (e) {
            case 'n': return U'\n';
            case 't': return U'\t';
            case 'r': return U'\r';
            case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': case '.':
                return static_cast<char32_t>(e);
            case 'x': return parse_hex(2, at);
            case 'u': return parse_hex(4, at);
            case 'U': return parse_hex(8, at);
            default: fail(std::string("unknown escape '\\") + printable(e) + "'", at);
        }
    }

    char32_t parse_hex(int digits, std::size_t at) {
        std::uint64_t v = 0;
        for (int i = 0; i < digits; ++i) {
            char c = peek();
            int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
            if (d < 0) fail("expected " + std::to_string(digits) + " hex digits in escape", at);
            v = v * 16 + static_cast<std::uint64_t>(d);
            ++pos_;
        }
        if (v > k_max_code_point || (v >= 0xD800 && v <= 0xDFFF)) fail("escape is not a Unicode scalar value", at);
        return static_cast<char32_t>(v);
    }

    ast_node parse_literal() {
        std::size_t at = pos_;
        ++pos_;  // opening quote
        ast_node seq;
        seq.k = ast_node::kind::sequence;
        seq.offset = at;
        for (;;) {
            if (at_end() || peek() == '\n' || peek() == '\r') fail("unterminated string literal", at);
            if (peek() == '"') break;
            ast_node ch;
            ch.k = ast_node::kind::char_class;
            ch.literal = true;
            ch.offset = pos_;
            char32_t cp = parse_char();
            ch.ranges = {{cp, cp}};
            seq.children.push_back(std::move(ch));
        }
        ++pos_;
        return seq;
    }

    ast_node parse_class() {
        std::size_t at = pos_;
        ++pos_;  // '['
        ast_node n;
        n.k = ast_node::kind::char_class;
        n.offset = at;
        if (peek() == '^') {
            n.negated = true;
            ++pos_;
        }
        code_point_ranges ranges;
        for (;;) {
            if (at_end() || peek() == '\n' || peek() == '\r') fail("unterminated character class", at);
            if (peek() == ']') break;
            char32_t lo = parse_char();
            char32_t hi = lo;
            if (peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
                ++pos_;
                hi = parse_char();
                if (hi < lo) fail("character range with end before start", at);
            }
            ranges.emplace_back(lo, hi);
        }
        ++pos_;
        ranges = normalise_ranges(std::move(ranges));
        n.ranges = n.negated ? complement_ranges(ranges) : ranges;
        if (n.ranges.empty()) fail("character class matches nothing", at);
        return n;
    }

    std::string_view text_;
    const grammar_limits& limits_;
    std::size_t pos_ = 0;
    ast_grammar grammar_;
    std::unordered_map<std::string, std::uint32_t> index_;
    std::string current_rule_;
};

}  // namespace

ast_grammar parse_gbnf_ast(std::string_view text, std::string_view root, const grammar_limits& limits) {
    return gbnf_parser(text, limits).parse(root);
}

}  // namespace sluice::grammar::detail
