// ECMA-262 pattern syntax -> regex_node. Supported: literals, escapes (\n \r \t \f \v \0
// \xHH \uHHHH \u{H..} \cX, identity escapes), classes with ranges and negation, \d \w \s and
// their negations, '.', groups ( (?: (?<name> ), alternation, quantifiers * + ? {m} {m,}
// {m,n} and their lazy forms, anchors ^ $. Refused: backreferences, lookaround, \b \B, \p{}
// and inline flags: a CFG cannot express the first ones and the others change meaning.
#include <string>

#include "grammar/regex_ast.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

constexpr int k_max_group_depth = 100;
constexpr int k_max_repeat = 1000;

using node_ptr = std::unique_ptr<regex_node>;

node_ptr make(regex_node::kind k) {
    auto n = std::make_unique<regex_node>();
    n->k = k;
    return n;
}

node_ptr make_chars(code_set s) {
    auto n = make(regex_node::kind::chars);
    n->set = std::move(s);
    return n;
}

code_set digit_set() { return code_set('0', '9'); }

code_set word_set() {
    code_set s('0', '9');
    s.add('A', 'Z');
    s.add('a', 'z');
    s.add('_', '_');
    return s;
}

code_set space_set() {
    code_set s('\t', '\r');
    s.add(' ', ' ');
    s.add(0xA0, 0xA0);
    s.add(0x1680, 0x1680);
    s.add(0x2000, 0x200A);
    s.add(0x2028, 0x2029);
    s.add(0x202F, 0x202F);
    s.add(0x205F, 0x205F);
    s.add(0x3000, 0x3000);
    s.add(0xFEFF, 0xFEFF);
    return s;
}

int hex_value(char32_t c) {
    if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
    return -1;
}

class regex_parser {
public:
    explicit regex_parser(std::u32string text) : text_(std::move(text)) {}

    node_ptr parse() {
        node_ptr n = alternation(0);
        if (pos_ < text_.size()) fail("unbalanced ')'");
        return n;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw regex_error(what + " at character " + std::to_string(pos_));
    }
    bool at_end() const { return pos_ >= text_.size(); }
    char32_t peek(std::size_t ahead = 0) const {
        return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : char32_t{0};
    }
    bool eat(char32_t c) {
        if (!at_end() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    node_ptr alternation(int depth) {
        if (depth > k_max_group_depth) fail("groups nested too deeply");
        auto alt = make(regex_node::kind::alt);
        alt->items.push_back(concatenation(depth));
        while (eat('|')) alt->items.push_back(concatenation(depth));
        if (alt->items.size() == 1) return std::move(alt->items.front());
        return alt;
    }

    node_ptr concatenation(int depth) {
        auto cat = make(regex_node::kind::concat);
        while (!at_end() && peek() != '|' && peek() != ')') {
            node_ptr atom_node = atom(depth);
            cat->items.push_back(quantified(std::move(atom_node)));
        }
        return cat;
    }

    // Reads {m}, {m,} or {m,n} at pos_; false (pos_ unchanged) when it is not a quantifier
    // (ECMA-262 Annex B then reads '{' as a literal).
    bool read_braces(int& lo, int& hi) {
        std::size_t p = pos_ + 1;
        auto number = [&](int& out) {
            const std::size_t start = p;
            long long v = 0;
            while (p < text_.size() && text_[p] >= '0' && text_[p] <= '9') {
                v = std::min<long long>(v * 10 + (text_[p] - '0'), 1'000'000'000LL);
                ++p;
            }
            out = static_cast<int>(v);
            return p > start;
        };
        if (!number(lo)) return false;
        hi = lo;
        if (p < text_.size() && text_[p] == ',') {
            ++p;
            hi = -1;
            if (p < text_.size() && text_[p] != '}' && !number(hi)) return false;
        }
        if (p >= text_.size() || text_[p] != '}') return false;
        pos_ = p + 1;
        return true;
    }

    node_ptr quantified(node_ptr inner) {
        for (int stacked = 0;; ++stacked) {
            // a**** nests one repeat per quantifier: bound it like group nesting.
            if (stacked > k_max_group_depth) fail("too many stacked quantifiers");
            int lo = 0;
            int hi = -1;
            const char32_t c = peek();
            if (c == '*') {
                ++pos_;
            } else if (c == '+') {
                lo = 1;
                ++pos_;
            } else if (c == '?') {
                hi = 1;
                ++pos_;
            } else if (c == '{' && read_braces(lo, hi)) {
                if (hi >= 0 && hi < lo) fail("quantifier {m,n} with n < m");
                if (lo > k_max_repeat || hi > k_max_repeat) fail("quantifier bound over 1000");
            } else {
                return inner;
            }
            eat('?');  // lazy: the same language
            if (peek() == '+') fail("possessive quantifier");
            auto rep = make(regex_node::kind::repeat);
            rep->min = lo;
            rep->max = hi;
            rep->items.push_back(std::move(inner));
            inner = std::move(rep);
        }
    }

    node_ptr group(int depth) {
        if (eat('?')) {
            if (eat(':')) {
            } else if ((peek() == '<' && peek(1) != '=' && peek(1) != '!') || (peek() == 'P' && peek(1) == '<')) {
                eat('P');  // Python's (?P<name>...)
                while (!at_end() && peek() != '>') ++pos_;
                if (!eat('>')) fail("unterminated group name");
            } else if (peek() == '=' || peek() == '!' || peek() == '<') {
                fail("lookaround assertion");
            } else {
                fail("inline flags or unknown group syntax");
            }
        }
        node_ptr inner = alternation(depth + 1);
        if (!eat(')')) fail("missing ')'");
        return inner;
    }

    node_ptr atom(int depth) {
        const char32_t c = peek();
        ++pos_;
        switch (c) {
            case '(': return group(depth);
            case '[': return make_chars(char_class());
            case '.': {
                code_set line_breaks('\n', '\n');
                line_breaks.add('\r', '\r');
                line_breaks.add(0x2028, 0x2029);
                return make_chars(line_breaks.negated());
            }
            case '^': return make(regex_node::kind::line_start);
            case '$': return make(regex_node::kind::line_end);
            case '\\': return make_chars(escape(false));
            case '*':
            case '+':
            case '?': fail("quantifier without an operand");
            default: return make_chars(code_set(c, c));
        }
    }

    code_set char_class() {
        const bool negate = eat('^');
        code_set s;
        while (!at_end() && peek() != ']') {
            code_set first = class_atom();
            if (peek() == '-' && peek(1) != ']' && pos_ + 1 < text_.size()) {
                ++pos_;
                code_set second = class_atom();
                if (first.ranges().size() != 1 || second.ranges().size() != 1 ||
                    first.ranges()[0].lo != first.ranges()[0].hi ||
                    second.ranges()[0].lo != second.ranges()[0].hi) {
                    // [\d-x]: Annex B reads '-' literally.
                    s.add(first);
                    s.add('-', '-');
                    s.add(second);
                    continue;
                }
                const char32_t lo = first.ranges()[0].lo;
                const char32_t hi = second.ranges()[0].lo;
                if (lo > hi) fail("character class range out of order");
                s.add(lo, hi);
            } else {
                s.add(first);
            }
        }
        if (!eat(']')) fail("missing ']'");
        return negate ? s.negated() : s;
    }

    code_set class_atom() {
        const char32_t c = peek();
        ++pos_;
        if (c == '\\') return escape(true);
        return code_set(c, c);
    }

    char32_t hex_digits(int count) {
        char32_t v = 0;
        for (int i = 0; i < count; ++i) {
            const int h = hex_value(peek());
            if (h < 0) fail("bad hex escape");
            v = v * 16 + static_cast<char32_t>(h);
            ++pos_;
        }
        return v;
    }

    char32_t unicode_escape() {
        if (eat('{')) {
            char32_t v = 0;
            int n = 0;
            while (!at_end() && peek() != '}') {
                const int h = hex_value(peek());
                if (h < 0 || ++n > 6) fail("bad \\u{} escape");
                v = v * 16 + static_cast<char32_t>(h);
                ++pos_;
            }
            if (!eat('}') || n == 0 || v > k_max_code_point) fail("bad \\u{} escape");
            return v;
        }
        char32_t v = hex_digits(4);
        if (v >= 0xD800 && v <= 0xDBFF && peek() == '\\' && peek(1) == 'u') {
            const std::size_t save = pos_;
            pos_ += 2;
            const char32_t low = hex_digits(4);
            if (low >= 0xDC00 && low <= 0xDFFF) return 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00);
            pos_ = save;
        }
        return v;
    }

    code_set escape(bool in_class) {
        if (at_end()) fail("pattern ends with '\\'");
        const char32_t c = peek();
        ++pos_;
        switch (c) {
            case 'd': return digit_set();
            case 'D': return digit_set().negated();
            case 'w': return word_set();
            case 'W': return word_set().negated();
            case 's': return space_set();
            case 'S': return space_set().negated();
            case 'n': return code_set('\n', '\n');
            case 'r': return code_set('\r', '\r');
            case 't': return code_set('\t', '\t');
            case 'f': return code_set('\f', '\f');
            case 'v': return code_set('\v', '\v');
            case 'x': {
                const char32_t v = hex_digits(2);
                return code_set(v, v);
            }
            case 'u': {
                const char32_t v = unicode_escape();
                return code_set(v, v);
            }
            case 'c': {
                const char32_t l = peek();
                if ((l >= 'a' && l <= 'z') || (l >= 'A' && l <= 'Z')) {
                    ++pos_;
                    return code_set(l % 32, l % 32);
                }
                return code_set('\\', '\\');
            }
            case 'b':
                if (in_class) return code_set('\b', '\b');
                fail("word boundary \\b");
            case 'B': fail("word boundary \\B");
            case 'k': fail("named backreference");
            case 'p':
            case 'P': fail("Unicode property escape");
            case 'A':
            case 'Z':
            case 'z':
            case 'G': fail("escape \\" + std::string(1, static_cast<char>(c)) + " (not ECMA-262)");
            case '0':
                if (peek() >= '0' && peek() <= '9') fail("octal escape");
                return code_set(0, 0);
            default:
                if (c >= '1' && c <= '9') {
                    if (in_class) fail("octal escape");
                    fail("backreference");
                }
                return code_set(c, c);
        }
    }

    std::u32string text_;
    std::size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<regex_node> parse_regex(std::string_view pattern) {
    return regex_parser(decode_utf8(pattern)).parse();
}

}  // namespace sluice::grammar::json_schema_detail
