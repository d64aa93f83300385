#include "interpreter.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sluice/util/utf8.hpp"

namespace sluice::chat::detail {

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

using ast::expr;
using ast::node;

const value* scope::find(const std::string& name) const {
    for (const scope* s = this; s != nullptr; s = s->parent) {
        const auto it = s->vars.find(name);
        if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
}

void renderer::fail(const std::string& msg) const { throw template_error(msg, line_); }

void renderer::step() {
    if (++steps_ > opt_.max_steps) fail("template exceeded its step budget (runaway loop?)");
}

void renderer::emit(const std::string& s) {
    out_->append(s);
    if (out_->size() > opt_.max_output) throw template_output_too_large("template output exceeds " + std::to_string(opt_.max_output) + " bytes", line_);
}

std::string renderer::render(const ast::body& b, const value& context) {
    scope root;
    if (context.is_object()) {
        for (const auto& [k, v] : context.fields().items) root.vars[k] = v;
    }
    root_ = &root;
    std::string out;
    out_ = &out;
    exec(b, root);
    return out;
}

std::string renderer::capture(const ast::body& b, scope& sc) {
    std::string buf;
    std::string* saved = out_;
    out_ = &buf;
    try {
        exec(b, sc);
    } catch (...) {
        out_ = saved;
        throw;
    }
    out_ = saved;
    return buf;
}

renderer::flow renderer::exec(const ast::body& b, scope& sc) {
    for (const auto& n : b) {
        const flow f = exec(*n, sc);
        if (f != flow::normal) return f;
    }
    return flow::normal;
}

void renderer::assign(scope& sc, const std::vector<std::string>& targets, const value& v) {
    if (targets.size() == 1) {
        sc.vars[targets[0]] = v;
        return;
    }
    if (!v.is_array() || v.items().size() != targets.size()) {
        fail("cannot unpack " + v.type_name() + " into " + std::to_string(targets.size()) + " names");
    }
    for (std::size_t i = 0; i < targets.size(); ++i) sc.vars[targets[i]] = v.items()[i];
}

renderer::flow renderer::exec(const node& n, scope& sc) {
    step();
    line_ = n.line;
    switch (n.k) {
        case node::kind::text: emit(n.text); break;
        case node::kind::output: {
            const value v = eval(*n.e, sc);
            line_ = n.line;
            emit(v.str());
            break;
        }
        case node::kind::if_:
            for (std::size_t i = 0; i < n.branches.size(); ++i) {
                if (i == n.conds.size() || eval(*n.conds[i], sc).truthy()) return exec(n.branches[i], sc);
            }
            break;
        case node::kind::for_: {
            flow f = flow::normal;
            exec_for(n, sc, f);
            return f;
        }
        case node::kind::set:
            if (n.attr_target) {
                const value* ns = sc.find(n.targets[0]);
                if (ns == nullptr || !ns->is_object() || !ns->fields().is_namespace) {
                    fail("cannot assign attribute '" + n.targets[1] + "': '" + n.targets[0] + "' is not a namespace");
                }
                ns->fields().set(n.targets[1], eval(*n.e, sc));
            } else {
                assign(sc, n.targets, eval(*n.e, sc));
            }
            break;
        case node::kind::set_block: {
            value v(capture(n.main, sc));
            if (!n.name.empty()) {
                call_args args;
                for (const auto& a : n.args) args.positional.push_back(eval(*a, sc));
                v = apply_filter(n.name, v, args);
            }
            sc.vars[n.targets[0]] = v;
            break;
        }
        case node::kind::macro: sc.vars[n.name] = define_macro(n, sc); break;
        case node::kind::call_block: {
            // caller() renders the block body with the caller's parameters.
            scope* defining = &sc;
            const node* block = &n;
            value caller = value::callable(
                [this, defining, block](const call_args& args) {
                    scope inner;
                    inner.parent = defining;
                    for (std::size_t i = 0; i < block->params.size(); ++i) {
                        const value* a = args.get(i, block->params[i]);
                        inner.vars[block->params[i]] = a ? *a : (block->defaults[i] ? eval(*block->defaults[i], inner) : value());
                    }
                    return value(capture(block->main, inner));
                },
                "caller");
            scope with_caller;
            with_caller.parent = &sc;
            with_caller.vars["caller"] = caller;
            emit(eval(*n.e, with_caller).str());
            break;
        }
        case node::kind::filter_block: {
            call_args args;
            for (std::size_t i = 0; i < n.args.size(); ++i) {
                const std::size_t n_pos = n.args.size() - n.arg_names.size();
                if (i < n_pos) args.positional.push_back(eval(*n.args[i], sc));
                else args.named.emplace_back(n.arg_names[i - n_pos], eval(*n.args[i], sc));
            }
            emit(apply_filter(n.name, value(capture(n.main, sc)), args).str());
            break;
        }
        case node::kind::break_: return flow::break_;
        case node::kind::continue_: return flow::continue_;
    }
    return flow::normal;
}

void renderer::exec_for(const node& n, scope& sc, flow& result) {
    const value seq = eval(*n.e, sc);
    line_ = n.line;
    std::vector<value> items;
    if (seq.is_array()) {
        items = seq.iterate();
    } else if (seq.is_object()) {
        for (std::size_t k = 0; k < seq.fields().items.size(); ++k) items.push_back(seq.fields().key(k));
    } else if (seq.is_string()) {
        const std::string& s = seq.as_string();
        for (std::size_t pos = 0, len = 0; pos < s.size(); pos += len) {
            (void)utf8::decode(s, pos, len);
            items.emplace_back(s.substr(pos, len));
        }
    } else if (!seq.is_undefined()) {
        fail("'" + seq.type_name() + "' object is not iterable");
    }
    if (n.filter_cond) {  // {% for x in xs if cond %}: filtered before loop.* is computed
        std::vector<value> kept;
        for (const auto& it : items) {
            scope probe;
            probe.parent = &sc;
            assign(probe, n.targets, it);
            if (eval(*n.filter_cond, probe).truthy()) kept.push_back(it);
        }
        items = std::move(kept);
    }
    result = flow::normal;
    if (items.empty()) {
        result = exec(n.else_, sc);
        return;
    }
    const auto len = static_cast<std::int64_t>(items.size());
    for (std::int64_t i = 0; i < len; ++i) {
        step();
        scope iter;
        iter.parent = &sc;
        assign(iter, n.targets, items[static_cast<std::size_t>(i)]);
        value::object loop;
        loop.items = {{"index", value(i + 1)},
                      {"index0", value(i)},
                      {"revindex", value(len - i)},
                      {"revindex0", value(len - i - 1)},
                      {"first", value(i == 0)},
                      {"last", value(i == len - 1)},
                      {"length", value(len)},
                      {"depth", value(1)},
                      {"depth0", value(0)},
                      {"previtem", i > 0 ? items[static_cast<std::size_t>(i - 1)] : value::undefined("previtem")},
                      {"nextitem", i + 1 < len ? items[static_cast<std::size_t>(i + 1)] : value::undefined("nextitem")}};
        loop.items.emplace_back("cycle", value::callable(
                                             [i](const call_args& a) {
                                                 if (a.positional.empty()) return value();
                                                 return a.positional[static_cast<std::size_t>(i) % a.positional.size()];
                                             },
                                             "cycle"));
        iter.vars["loop"] = value(std::move(loop));
        const flow f = exec(n.main, iter);
        if (f == flow::break_) break;
    }
}

value renderer::define_macro(const node& n, scope& sc) {
    const node* m = &n;
    scope* defining = &sc;
    return value::callable(
        [this, m, defining](const call_args& args) {
            if (++depth_ > opt_.max_depth) fail("macro recursion deeper than " + std::to_string(opt_.max_depth));
            scope local;
            local.parent = defining;
            std::size_t consumed = 0;
            for (std::size_t i = 0; i < m->params.size(); ++i) {
                const value* a = args.get(i, m->params[i]);
                if (a != nullptr) {
                    local.vars[m->params[i]] = *a;
                    if (i < args.positional.size()) ++consumed;
                } else if (m->defaults[i]) {
                    local.vars[m->params[i]] = eval(*m->defaults[i], local);
                } else {
                    local.vars[m->params[i]] = value::undefined(m->params[i]);
                }
            }
            value::array varargs(args.positional.begin() + static_cast<std::ptrdiff_t>(std::min(consumed, args.positional.size())),
                                 args.positional.end());
            local.vars["varargs"] = value(std::move(varargs));
            value::object kwargs;
            for (const auto& [k, v] : args.named) {
                if (std::find(m->params.begin(), m->params.end(), k) == m->params.end()) kwargs.items.emplace_back(k, v);
            }
            local.vars["kwargs"] = value(std::move(kwargs));
            if (const value* c = defining->find("caller")) local.vars["caller"] = *c;
            const int saved_line = line_;
            std::string out = capture(m->main, local);
            line_ = saved_line;
            --depth_;
            return value(std::move(out));
        },
        n.name);
}

value renderer::lookup(const std::string& name, scope& sc) {
    if (const value* v = sc.find(name)) return *v;
    value g = global_function(*this, name);
    if (!g.is_undefined()) return g;
    return value::undefined("'" + name + "' is undefined");
}

value renderer::call_value(const value& fn, const call_args& args) {
    if (fn.is_undefined()) fail(fn.as_string().empty() ? "called an undefined value" : fn.as_string());
    if (!fn.is_callable()) fail("'" + fn.type_name() + "' object is not callable");
    step();
    return fn.fn()(args);
}

value renderer::eval_call_args(const expr& e, std::size_t first, scope& sc, call_args& args) {
    const std::size_t n_named = e.arg_names.size();
    const std::size_t n_pos = e.kids.size() - first - n_named;
    for (std::size_t i = 0; i < n_pos; ++i) args.positional.push_back(eval(*e.kids[first + i], sc));
    for (std::size_t i = 0; i < n_named; ++i) args.named.emplace_back(e.arg_names[i], eval(*e.kids[first + n_pos + i], sc));
    return value();
}

value renderer::get_attr(const value& obj, const std::string& name) {
    if (obj.is_undefined()) {
        fail(obj.as_string().empty() ? "attribute '" + name + "' of an undefined value" : obj.as_string());
    }
    // Jinja2 tries the Python attribute first (so d.items is the method), then the item.
    value m = bound_method(*this, obj, name);
    if (!m.is_undefined()) return m;
    if (obj.is_object()) {
        if (const value* v = obj.fields().find(name)) return *v;
    }
    return value::undefined("'" + obj.type_name() + " object' has no attribute '" + name + "'");
}

namespace {

// Python index normalisation; false when out of range.
bool normalise_index(std::int64_t& i, std::int64_t len) {
    if (i < 0) i += len;
    return i >= 0 && i < len;
}

std::vector<std::string> code_points_of(const std::string& s) {
    std::vector<std::string> out;
    for (std::size_t pos = 0, len = 0; pos < s.size(); pos += len) {
        (void)utf8::decode(s, pos, len);
        out.push_back(s.substr(pos, len));
    }
    return out;
}

}  // namespace

value renderer::get_item(const value& obj, const value& key) {
    if (obj.is_undefined()) fail(obj.as_string().empty() ? "subscript of an undefined value" : obj.as_string());
    if (obj.is_generator()) fail("'generator' object is not subscriptable");
    if (obj.is_object() && !key.is_string()) {  // dicts with non-string keys ({1024: ...})
        if (const value* v = obj.fields().find(key.str())) return *v;
        return value::undefined("'dict object' has no item " + key.repr());
    }
    if (obj.is_array() && key.is_number() && !key.is_float()) {
        std::int64_t i = key.as_int();
        if (!normalise_index(i, static_cast<std::int64_t>(obj.items().size()))) return value::undefined("list index out of range");
        return obj.items()[static_cast<std::size_t>(i)];
    }
    if (obj.is_string() && key.is_number() && !key.is_float()) {
        const auto cps = code_points_of(obj.as_string());
        std::int64_t i = key.as_int();
        if (!normalise_index(i, static_cast<std::int64_t>(cps.size()))) return value::undefined("string index out of range");
        return value(cps[static_cast<std::size_t>(i)]);
    }
    if (obj.is_object() && key.is_string()) {
        if (const value* v = obj.fields().find(key.as_string())) return *v;
        value m = bound_method(*this, obj, key.as_string());
        if (!m.is_undefined()) return m;
        return value::undefined("'dict object' has no attribute '" + key.as_string() + "'");
    }
    if (key.is_string()) return get_attr(obj, key.as_string());
    return value::undefined("'" + obj.type_name() + " object' has no item " + key.repr());
}

value renderer::apply_filter(const std::string& name, const value& input, const call_args& args) {
    if (!has_filter(name)) fail("no filter named '" + name + "'");
    step();
    return run_filter(*this, name, input, args);
}

bool renderer::apply_test(const std::string& name, const value& input, const call_args& args) {
    const auto r = run_test(*this, name, input, args);
    if (!r) fail("no test named '" + name + "'");
    return *r;
}

namespace {

value slice_of(const value& obj, const value& start, const value& stop, const value& step_v, renderer& r) {
    std::int64_t step = step_v.is_undefined() || step_v.is_none() ? 1 : step_v.as_int();
    if (step == 0) r.fail("slice step cannot be zero");
    std::vector<value> elems;
    std::vector<std::string> cps;
    const bool is_str = obj.is_string();
    if (is_str) {
        cps = code_points_of(obj.as_string());
    } else if (obj.is_array()) {
        elems = obj.items();
    } else {
        r.fail("'" + obj.type_name() + "' object is not subscriptable");
    }
    const std::int64_t len = static_cast<std::int64_t>(is_str ? cps.size() : elems.size());
    auto bound = [&](const value& v, std::int64_t dflt) {
        if (v.is_undefined() || v.is_none()) return dflt;
        std::int64_t i = v.as_int();
        if (i < 0) i += len;
        if (step > 0) return std::clamp<std::int64_t>(i, 0, len);
        return std::clamp<std::int64_t>(i, -1, len - 1);
    };
    const std::int64_t a = bound(start, step > 0 ? 0 : len - 1), b = bound(stop, step > 0 ? len : -1);
    std::string s;
    value::array out;
    for (std::int64_t i = a; step > 0 ? i < b : i > b; i += step) {
        if (is_str) s += cps[static_cast<std::size_t>(i)];
        else out.push_back(elems[static_cast<std::size_t>(i)]);
    }
    return is_str ? value(std::move(s)) : value(std::move(out));
}

}  // namespace

value renderer::eval(const expr& e, scope& sc) {
    line_ = e.line;
    switch (e.k) {
        case expr::kind::literal: return e.lit;
        case expr::kind::name: return lookup(e.name, sc);
        case expr::kind::list:
        case expr::kind::tuple: {
            value::array a;
            for (const auto& k : e.kids) a.push_back(eval(*k, sc));
            return value(std::move(a));
        }
        case expr::kind::dict: {
            value::object o;
            for (std::size_t i = 0; i + 1 < e.kids.size(); i += 2) {
                const value k = eval(*e.kids[i], sc);
                o.set_key(k, eval(*e.kids[i + 1], sc));
            }
            return value(std::move(o));
        }
        case expr::kind::attr: return get_attr(eval(*e.kids[0], sc), e.name);
        case expr::kind::item: {
            const value obj = eval(*e.kids[0], sc);
            return get_item(obj, eval(*e.kids[1], sc));
        }
        case expr::kind::slice: {
            const value obj = eval(*e.kids[0], sc);
            auto part = [&](std::size_t i) { return e.kids[i] ? eval(*e.kids[i], sc) : value(); };
            return slice_of(obj, part(1), part(2), part(3), *this);
        }
        case expr::kind::call: {
            const value fn = eval(*e.kids[0], sc);
            call_args args;
            eval_call_args(e, 1, sc, args);
            line_ = e.line;
            return call_value(fn, args);
        }
        case expr::kind::filter: {
            const value input = eval(*e.kids[0], sc);
            call_args args;
            eval_call_args(e, 1, sc, args);
            line_ = e.line;
            return apply_filter(e.name, input, args);
        }
        case expr::kind::test: {
            const value input = eval(*e.kids[0], sc);
            call_args args;
            eval_call_args(e, 1, sc, args);
            line_ = e.line;
            return value(apply_test(e.name, input, args) != e.negated);
        }
        case expr::kind::neg:
        case expr::kind::pos: {
            const value v = eval(*e.kids[0], sc);
            if (!v.is_number()) fail("bad operand type for unary " + std::string(e.k == expr::kind::neg ? "-" : "+") + ": '" + v.type_name() + "'");
            if (e.k == expr::kind::pos) return v;
            if (!v.is_float() && v.as_int() == std::numeric_limits<std::int64_t>::min()) fail("integer negation is too large");
            return v.is_float() ? value(-v.as_double()) : value(-v.as_int());
        }
        case expr::kind::not_: return value(!eval(*e.kids[0], sc).truthy());
        case expr::kind::and_: {
            value a = eval(*e.kids[0], sc);
            return a.truthy() ? eval(*e.kids[1], sc) : a;
        }
        case expr::kind::or_: {
            value a = eval(*e.kids[0], sc);
            return a.truthy() ? a : eval(*e.kids[1], sc);
        }
        case expr::kind::cond:
            if (eval(*e.kids[0], sc).truthy()) return eval(*e.kids[1], sc);
            return e.kids[2] ? eval(*e.kids[2], sc) : value::undefined("");
        case expr::kind::binary: {
            const value a = eval(*e.kids[0], sc);
            const value b = eval(*e.kids[1], sc);
            line_ = e.line;
            return eval_binary(e.name, a, b);
        }
        case expr::kind::compare: {
            value left = eval(*e.kids[0], sc);
            for (std::size_t i = 0; i < e.ops.size(); ++i) {
                value right = eval(*e.kids[i + 1], sc);
                line_ = e.line;
                if (!compare(e.ops[i], left, right)) return value(false);
                left = std::move(right);
            }
            return value(true);
        }
    }
    return value();
}

bool renderer::compare(const std::string& op, const value& a, const value& b) {
    if (op == "==") return a == b;
    if (op == "!=") return !(a == b);
    if (op == "in" || op == "notin") {
        bool found = false;
        if (b.is_string()) {
            if (!a.is_string()) fail("'in <string>' requires string as left operand, not " + a.type_name());
            found = b.as_string().find(a.as_string()) != std::string::npos;
        } else if (b.is_array()) {
            const auto items = b.iterate();
            found = std::any_of(items.begin(), items.end(), [&](const value& x) { return x == a; });
        } else if (b.is_object()) {
            found = (a.is_string() || !b.fields().raw_keys.empty()) && b.fields().find(a.str()) != nullptr;
        } else if (!b.is_undefined()) {
            fail("argument of type '" + b.type_name() + "' is not iterable");
        }
        return op == "in" ? found : !found;
    }
    int c = 0;
    if (a.is_number() && b.is_number()) {
        const double x = a.as_double(), y = b.as_double();
        c = x < y ? -1 : x > y ? 1 : 0;
    } else if (a.is_string() && b.is_string()) {
        c = a.as_string().compare(b.as_string());
    } else if (a.is_array() && b.is_array()) {
        const auto& x = a.items();
        const auto& y = b.items();
        std::size_t i = 0;
        while (i < x.size() && i < y.size() && x[i] == y[i]) ++i;
        if (i < x.size() && i < y.size()) return compare(op, x[i], y[i]);
        c = x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
    } else {
        fail("'" + op + "' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
    }
    if (op == "<") return c < 0;
    if (op == ">") return c > 0;
    if (op == "<=") return c <= 0;
    return c >= 0;
}

value renderer::eval_binary(const std::string& op, const value& a, const value& b) {
    if (op == "~") return value(a.str() + b.str());
    auto type_error = [&]() -> value {
        fail("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
    };
    if (a.is_undefined() || b.is_undefined()) fail(a.is_undefined() ? a.as_string() : b.as_string());
    if (op == "+") {
        // Markup + str escapes the plain operand (Jinja2's Markup.__add__ / __radd__).
        if (a.is_string() && b.is_string() && (a.is_markup() || b.is_markup())) {
            return value::markup((a.is_markup() ? a.as_string() : html_escape(a.as_string())) +
                                 (b.is_markup() ? b.as_string() : html_escape(b.as_string())));
        }
        if (a.is_generator() || b.is_generator()) type_error();
        if (a.is_string() && b.is_string()) return value(a.as_string() + b.as_string());
        if (a.is_array() && b.is_array()) {
            value::array r = a.items();
            r.insert(r.end(), b.items().begin(), b.items().end());
            return value(std::move(r));
        }
        if (a.is_string() || b.is_string()) {
            fail("can only concatenate " + a.type_name() + " (not \"" + b.type_name() + "\") to " + a.type_name());
        }
    }
    if (op == "*" && (a.is_string() || a.is_array()) && b.is_int()) {
        const std::int64_t n = std::max<std::int64_t>(0, b.as_int());
        if (a.is_string() && a.as_string().size() * static_cast<std::size_t>(n) > opt_.max_output) fail("string repetition too large");
        if (a.is_string()) {
            std::string r;
            for (std::int64_t i = 0; i < n; ++i) r += a.as_string();
            return value(std::move(r));
        }
        value::array r;
        for (std::int64_t i = 0; i < n && r.size() < 1000000; ++i) r.insert(r.end(), a.items().begin(), a.items().end());
        return value(std::move(r));
    }
    if (op == "%" && a.is_string()) return value(percent_format(*this, a.as_string(), b));
    if (!a.is_number() || !b.is_number()) return type_error();
    const bool ints = !a.is_float() && !b.is_float();
    const double x = a.as_double(), y = b.as_double();
    // Python integers do not overflow; ours are 64-bit, so overflow is a template error.
    if (ints && (op == "+" || op == "-" || op == "*")) {
        std::int64_t r = 0;
        const bool overflowed = op == "+"   ? __builtin_add_overflow(a.as_int(), b.as_int(), &r)
                                : op == "-" ? __builtin_sub_overflow(a.as_int(), b.as_int(), &r)
                                            : __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
        if (overflowed) fail("integer result of '" + op + "' is too large");
        return value(r);
    }
    if (op == "+") return value(x + y);
    if (op == "-") return value(x - y);
    if (op == "*") return value(x * y);
    if (op == "/") {
        if (y == 0) fail("division by zero");
        return value(x / y);
    }
    if (op == "//" || op == "%") {
        if (y == 0) fail("integer division or modulo by zero");
        if (ints) {
            const std::int64_t p = a.as_int(), q = b.as_int();
            if (p == std::numeric_limits<std::int64_t>::min() && q == -1) fail("integer result of '" + op + "' is too large");
            std::int64_t d = p / q, m = p % q;
            if (m != 0 && ((m < 0) != (q < 0))) {  // Python floors
                --d;
                m += q;
            }
            return op == "//" ? value(d) : value(m);
        }
        const double d = std::floor(x / y);
        return op == "//" ? value(d) : value(x - d * y);
    }
    if (op == "**") {
        if (ints && b.as_int() >= 0) {
            std::int64_t p = 1;
            for (std::int64_t i = 0; i < b.as_int() && p != 0; ++i) {
                if (__builtin_mul_overflow(p, a.as_int(), &p)) fail("integer result of '**' is too large");
                if (p == 1 || p == -1) {  // 1 and -1 stay bounded: finish without looping
                    if (p == -1 && (b.as_int() - i - 1) % 2 == 1) p = 1;
                    break;
                }
            }
            return value(p);
        }
        return value(std::pow(x, y));
    }
    return type_error();
}

}  // namespace sluice::chat::detail
