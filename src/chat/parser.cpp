#include "parser.hpp"

#include <charconv>
#include <cstdlib>
#include <set>

#include "lexer.hpp"
#include "sluice/chat/jinja.hpp"

namespace sluice::chat::detail {
namespace {

using ast::body;
using ast::expr;
using ast::expr_ptr;
using ast::node;
using ast::node_ptr;
using tk = token::kind;

class parser {
public:
    explicit parser(std::vector<token> toks) : t_(std::move(toks)) {}

    body parse_all() {
        body b = parse_body({});
        if (peek().k != tk::eof) fail("unexpected '" + peek_block_name() + "'");
        return b;
    }

private:
    const token& peek(std::size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
    const token& next() { return t_[std::min(i_++, t_.size() - 1)]; }
    [[noreturn]] void fail(const std::string& msg) const { throw template_error("syntax error: " + msg, peek().line); }

    bool is_op(const char* op, std::size_t ahead = 0) const { return peek(ahead).k == tk::op && peek(ahead).text == op; }
    bool is_name(const char* n, std::size_t ahead = 0) const { return peek(ahead).k == tk::name && peek(ahead).text == n; }
    void expect_op(const char* op) {
        if (!is_op(op)) fail(std::string("expected '") + op + "'");
        ++i_;
    }
    std::string expect_name() {
        if (peek().k != tk::name) fail("expected a name");
        return next().text;
    }
    void expect_block_end() {
        if (peek().k != tk::block_end) fail("expected '%}'");
        ++i_;
    }
    std::string peek_block_name() const {
        if (peek().k == tk::block_begin && peek(1).k == tk::name) return peek(1).text;
        return peek().text;
    }

    // Parses nodes until a block tag whose keyword is in `stops` (left unconsumed).
    body parse_body(const std::set<std::string>& stops) {
        body b;
        while (peek().k != tk::eof) {
            const token& t = peek();
            if (t.k == tk::text) {
                auto n = std::make_shared<node>();
                n->k = node::kind::text;
                n->text = t.text;
                n->line = t.line;
                b.push_back(n);
                ++i_;
            } else if (t.k == tk::var_begin) {
                ++i_;
                auto n = std::make_shared<node>();
                n->k = node::kind::output;
                n->line = t.line;
                n->e = parse_expr();
                if (peek().k != tk::var_end) fail("expected '}}'");
                ++i_;
                b.push_back(n);
            } else if (t.k == tk::block_begin) {
                if (peek(1).k != tk::name) fail("expected a statement");
                if (stops.count(peek(1).text)) return b;
                b.push_back(parse_statement());
            } else {
                fail("unexpected token '" + t.text + "'");
            }
        }
        if (!stops.empty()) fail("missing end tag (one of: " + join(stops) + ")");
        return b;
    }

    static std::string join(const std::set<std::string>& s) {
        std::string out;
        for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
        return out;
    }

    // At "{% keyword": consumes "{% keyword" and returns the keyword.
    std::string open_tag() {
        ++i_;
        return next().text;
    }

    void close_with(const char* keyword) {
        if (!(peek().k == tk::block_begin && is_name(keyword, 1))) fail(std::string("expected '{% ") + keyword + " %}'");
        i_ += 2;
        expect_block_end();
    }

    node_ptr parse_statement() {
        depth_guard g(*this);
        const int line = peek().line;
        const std::string kw = open_tag();
        auto n = std::make_shared<node>();
        n->line = line;
        if (kw == "if") {
            n->k = node::kind::if_;
            n->conds.push_back(parse_expr());
            expect_block_end();
            n->branches.push_back(parse_body({"elif", "else", "endif"}));
            for (;;) {
                const std::string k = open_tag();
                if (k == "elif") {
                    n->conds.push_back(parse_expr());
                    expect_block_end();
                    n->branches.push_back(parse_body({"elif", "else", "endif"}));
                } else if (k == "else") {
                    expect_block_end();
                    n->branches.push_back(parse_body({"endif"}));
                } else {  // endif
                    expect_block_end();
                    break;
                }
            }
        } else if (kw == "for") {
            n->k = node::kind::for_;
            n->targets.push_back(expect_name());
            while (is_op(",")) {
                ++i_;
                n->targets.push_back(expect_name());
            }
            if (!is_name("in")) fail("expected 'in'");
            ++i_;
            n->e = parse_ternary(false);  // "if" after the iterable is the loop filter
            if (is_name("if")) {
                ++i_;
                n->filter_cond = parse_expr();
            }
            if (is_name("recursive")) fail("recursive loops are not supported");
            expect_block_end();
            n->main = parse_body({"else", "endfor"});
            if (open_tag() == "else") {
                expect_block_end();
                n->else_ = parse_body({"endfor"});
                close_with("endfor");
            } else {
                expect_block_end();
            }
        } else if (kw == "set") {
            n->targets.push_back(expect_name());
            if (is_op(".")) {
                ++i_;
                n->targets.push_back(expect_name());
                n->attr_target = true;
            }
            while (is_op(",")) {
                ++i_;
                n->targets.push_back(expect_name());
            }
            if (is_op("=")) {
                ++i_;
                n->k = node::kind::set;
                n->e = parse_tuple_or_expr();
                expect_block_end();
            } else {  // block set: {% set x %}...{% endset %}
                n->k = node::kind::set_block;
                if (is_op("|")) {
                    ++i_;
                    n->name = expect_name();
                    parse_call_args_opt(n->args, n->arg_names);
                }
                expect_block_end();
                n->main = parse_body({"endset"});
                close_with("endset");
            }
        } else if (kw == "macro") {
            n->k = node::kind::macro;
            n->name = expect_name();
            parse_params(*n);
            expect_block_end();
            n->main = parse_body({"endmacro"});
            close_with("endmacro");
        } else if (kw == "call") {
            n->k = node::kind::call_block;
            if (is_op("(")) parse_params(*n);
            n->e = parse_expr();
            expect_block_end();
            n->main = parse_body({"endcall"});
            close_with("endcall");
        } else if (kw == "filter") {
            n->k = node::kind::filter_block;
            n->name = expect_name();
            parse_call_args_opt(n->args, n->arg_names);
            expect_block_end();
            n->main = parse_body({"endfilter"});
            close_with("endfilter");
        } else if (kw == "break" || kw == "continue") {
            n->k = kw == "break" ? node::kind::break_ : node::kind::continue_;
            expect_block_end();
        } else {
            --i_;
            fail("unknown statement '" + kw + "'");
        }
        return n;
    }

    void parse_params(node& n) {
        expect_op("(");
        while (!is_op(")")) {
            n.params.push_back(expect_name());
            if (is_op("=")) {
                ++i_;
                n.defaults.push_back(parse_expr());
            } else {
                n.defaults.push_back(nullptr);
            }
            if (!is_op(",")) break;
            ++i_;
        }
        expect_op(")");
    }

    // ---- expressions ----
    std::shared_ptr<expr> make(expr::kind k) {
        auto e = std::make_shared<expr>();
        e->k = k;
        e->line = peek().line;
        return e;
    }

    // Nesting bound: hostile templates must not exhaust the stack of this recursive parser.
    struct depth_guard {
        parser& p;
        explicit depth_guard(parser& owner) : p(owner) {
            if (++p.depth_ > k_max_depth) p.fail("expressions or blocks nested too deeply");
        }
        ~depth_guard() { --p.depth_; }
    };
    static constexpr int k_max_depth = 200;

    expr_ptr parse_expr() {
        depth_guard g(*this);
        return parse_ternary(true);
    }

    // A bare tuple "a, b" (set statements).
    expr_ptr parse_tuple_or_expr() {
        expr_ptr first = parse_expr();
        if (!is_op(",")) return first;
        auto t = make(expr::kind::tuple);
        t->kids.push_back(first);
        while (is_op(",")) {
            ++i_;
            if (peek().k == tk::block_end) break;
            t->kids.push_back(parse_expr());
        }
        return t;
    }

    expr_ptr parse_ternary(bool allow_cond) {
        expr_ptr e = parse_or();
        while (allow_cond && is_name("if")) {
            ++i_;
            auto c = make(expr::kind::cond);
            expr_ptr condition = parse_or();
            expr_ptr otherwise;
            if (is_name("else")) {
                ++i_;
                otherwise = parse_ternary(true);
            }
            c->kids = {condition, e, otherwise};  // kids[1] if kids[0] else kids[2]
            e = c;
        }
        return e;
    }

    expr_ptr parse_or() {
        expr_ptr e = parse_and();
        while (is_name("or")) {
            ++i_;
            auto o = make(expr::kind::or_);
            o->kids = {e, parse_and()};
            e = o;
        }
        return e;
    }

    expr_ptr parse_and() {
        expr_ptr e = parse_not();
        while (is_name("and")) {
            ++i_;
            auto a = make(expr::kind::and_);
            a->kids = {e, parse_not()};
            e = a;
        }
        return e;
    }

    expr_ptr parse_not() {
        depth_guard g(*this);
        if (is_name("not")) {
            ++i_;
            auto n = make(expr::kind::not_);
            n->kids = {parse_not()};
            return n;
        }
        return parse_compare();
    }

    expr_ptr parse_compare() {
        expr_ptr e = parse_concat();
        std::shared_ptr<expr> c;
        for (;;) {
            std::string op;
            if (peek().k == tk::op && (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
                                       peek().text == "<=" || peek().text == ">=")) {
                op = next().text;
            } else if (is_name("in")) {
                ++i_;
                op = "in";
            } else if (is_name("not") && is_name("in", 1)) {
                i_ += 2;
                op = "notin";
            } else {
                break;
            }
            if (!c) {
                c = make(expr::kind::compare);
                c->kids.push_back(e);
            }
            c->ops.push_back(op);
            c->kids.push_back(parse_concat());
        }
        return c ? c : e;
    }

    expr_ptr binary(const std::string& op, expr_ptr l, expr_ptr r) {
        auto b = make(expr::kind::binary);
        b->name = op;
        b->kids = {std::move(l), std::move(r)};
        return b;
    }

    expr_ptr parse_concat() {
        expr_ptr e = parse_add();
        while (is_op("~")) {
            ++i_;
            e = binary("~", e, parse_add());
        }
        return e;
    }

    expr_ptr parse_add() {
        expr_ptr e = parse_mul();
        while (is_op("+") || is_op("-")) {
            const std::string op = next().text;
            e = binary(op, e, parse_mul());
        }
        return e;
    }

    expr_ptr parse_mul() {
        expr_ptr e = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const std::string op = next().text;
            e = binary(op, e, parse_pow());
        }
        return e;
    }

    expr_ptr parse_pow() {
        expr_ptr e = parse_unary();
        while (is_op("**")) {
            ++i_;
            e = binary("**", e, parse_unary());
        }
        return e;
    }

    expr_ptr parse_unary() {
        depth_guard g(*this);
        if (is_op("-") || is_op("+")) {
            const bool neg = next().text == "-";
            auto u = make(neg ? expr::kind::neg : expr::kind::pos);
            u->kids = {parse_unary()};
            return parse_filters(u);
        }
        return parse_filters(parse_postfix(parse_primary()));
    }

    void parse_call_args_opt(std::vector<expr_ptr>& args, std::vector<std::string>& names) {
        if (is_op("(")) parse_call_args(args, names);
    }

    // "(" a, b, k=v ")": positional first, then named (names for the trailing ones).
    void parse_call_args(std::vector<expr_ptr>& args, std::vector<std::string>& names) {
        expect_op("(");
        while (!is_op(")")) {
            if (peek().k == tk::name && is_op("=", 1)) {
                names.push_back(next().text);
                ++i_;
                args.push_back(parse_expr());
            } else {
                if (!names.empty()) fail("positional argument after a named one");
                args.push_back(parse_expr());
            }
            if (!is_op(",")) break;
            ++i_;
        }
        expect_op(")");
    }

    expr_ptr parse_filters(expr_ptr e) {
        for (;;) {
            if (is_op("|")) {
                ++i_;
                auto f = make(expr::kind::filter);
                f->name = expect_name();
                f->kids.push_back(e);
                parse_call_args_opt(f->kids, f->arg_names);
                e = parse_postfix(f);
            } else if (is_name("is")) {
                ++i_;
                auto t = make(expr::kind::test);
                if (is_name("not")) {
                    ++i_;
                    t->negated = true;
                }
                t->name = expect_name();
                t->kids.push_back(e);
                if (is_op("(")) {
                    parse_call_args(t->kids, t->arg_names);
                } else if (peek().k == tk::string || peek().k == tk::integer || peek().k == tk::floating ||
                           (peek().k == tk::name && !is_name("and") && !is_name("or") && !is_name("else") && !is_name("if") &&
                            !is_name("is") && !is_name("not") && !is_name("in"))) {
                    t->kids.push_back(parse_primary());  // "is divisibleby 3", "is sameas none"
                }
                e = t;
            } else {
                return e;
            }
        }
    }

    expr_ptr parse_postfix(expr_ptr e) {
        for (;;) {
            if (is_op(".")) {
                ++i_;
                auto a = make(expr::kind::attr);
                if (peek().k == tk::integer) {
                    a->k = expr::kind::item;
                    auto idx = make(expr::kind::literal);
                    idx->lit = value(integer_literal(next().text));
                    a->kids = {e, idx};
                } else {
                    a->name = expect_name();
                    a->kids = {e};
                }
                e = a;
            } else if (is_op("[")) {
                ++i_;
                e = parse_subscript(e);
            } else if (is_op("(")) {
                auto c = make(expr::kind::call);
                c->kids.push_back(e);
                parse_call_args(c->kids, c->arg_names);
                e = c;
            } else {
                return e;
            }
        }
    }

    std::int64_t integer_literal(const std::string& text) const {
        std::int64_t v = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || ptr != text.data() + text.size()) fail("integer literal '" + text + "' out of range");
        return v;
    }

    expr_ptr parse_subscript(expr_ptr target) {
        std::vector<expr_ptr> parts(3);
        int colons = 0;
        while (!is_op("]")) {
            if (is_op(":")) {
                ++i_;
                if (++colons > 2) fail("too many ':' in slice");
                continue;
            }
            parts[static_cast<std::size_t>(colons)] = parse_expr();
        }
        expect_op("]");
        if (colons == 0) {
            if (!parts[0]) fail("empty subscript");
            auto it = make(expr::kind::item);
            it->kids = {target, parts[0]};
            return it;
        }
        auto s = make(expr::kind::slice);
        s->kids = {target, parts[0], parts[1], parts[2]};
        return s;
    }

    expr_ptr parse_primary() {
        const token& t = peek();
        if (t.k == tk::string) {
            auto l = make(expr::kind::literal);
            std::string s = next().text;
            while (peek().k == tk::string) s += next().text;  // adjacent literals concatenate
            l->lit = value(std::move(s));
            return l;
        }
        if (t.k == tk::integer) {
            auto l = make(expr::kind::literal);
            l->lit = value(integer_literal(next().text));
            return l;
        }
        if (t.k == tk::floating) {
            auto l = make(expr::kind::literal);
            l->lit = value(std::strtod(next().text.c_str(), nullptr));  // 1e999 is inf, as in Python
            return l;
        }
        if (t.k == tk::name) {
            const std::string n = next().text;
            auto l = make(expr::kind::literal);
            if (n == "true" || n == "True") l->lit = value(true);
            else if (n == "false" || n == "False") l->lit = value(false);
            else if (n == "none" || n == "None") l->lit = value::none();
            else {
                l->k = expr::kind::name;
                l->name = n;
            }
            return l;
        }
        if (is_op("(")) {
            ++i_;
            if (is_op(")")) {
                ++i_;
                return make(expr::kind::tuple);
            }
            expr_ptr e = parse_expr();
            if (is_op(",")) {
                auto tup = make(expr::kind::tuple);
                tup->kids.push_back(e);
                while (is_op(",")) {
                    ++i_;
                    if (is_op(")")) break;
                    tup->kids.push_back(parse_expr());
                }
                e = tup;
            }
            expect_op(")");
            return e;
        }
        if (is_op("[")) {
            ++i_;
            auto l = make(expr::kind::list);
            while (!is_op("]")) {
                l->kids.push_back(parse_expr());
                if (!is_op(",")) break;
                ++i_;
            }
            expect_op("]");
            return l;
        }
        if (is_op("{")) {
            ++i_;
            auto d = make(expr::kind::dict);
            while (!is_op("}")) {
                d->kids.push_back(parse_expr());
                expect_op(":");
                d->kids.push_back(parse_expr());
                if (!is_op(",")) break;
                ++i_;
            }
            expect_op("}");
            return d;
        }
        fail("unexpected '" + t.text + "' in expression");
    }

    std::vector<token> t_;
    std::size_t i_ = 0;
    int depth_ = 0;
};

}  // namespace

ast::body parse_template(std::string_view source) { return parser(lex(source)).parse_all(); }

}  // namespace sluice::chat::detail
