// Evaluation of a template syntax tree (chat-internal): statements, expressions,
// attribute and item access, operators with Python's semantics, and the bounds that
// keep hostile templates finite.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "ast.hpp"
#include "sluice/chat/jinja.hpp"

namespace sluice::chat::detail {

class renderer;

// A variable scope: loops and macro calls open one; if-blocks do not (as in Jinja2).
struct scope {
    std::unordered_map<std::string, value> vars;
    scope* parent = nullptr;
    const value* find(const std::string& name) const;
};

class renderer {
public:
    renderer(const render_options& opt, std::tm now) : opt_(opt), now_(now) {}

    std::string render(const ast::body& b, const value& context);

    // Used by builtins.
    [[noreturn]] void fail(const std::string& msg) const;
    void step();
    value call_value(const value& fn, const call_args& args);
    value apply_filter(const std::string& name, const value& input, const call_args& args);
    bool apply_test(const std::string& name, const value& input, const call_args& args);
    value get_attr(const value& obj, const std::string& name);
    value get_item(const value& obj, const value& key);
    const std::tm& now() const noexcept { return now_; }
    int line() const noexcept { return line_; }

private:
    enum class flow { normal, break_, continue_ };

    flow exec(const ast::body& b, scope& sc);
    flow exec(const ast::node& n, scope& sc);
    void exec_for(const ast::node& n, scope& sc, flow& result);
    void assign(scope& sc, const std::vector<std::string>& targets, const value& v);
    value define_macro(const ast::node& n, scope& sc);
    std::string capture(const ast::body& b, scope& sc);
    void emit(const std::string& s);

    value eval(const ast::expr& e, scope& sc);
    value eval_binary(const std::string& op, const value& a, const value& b);
    bool compare(const std::string& op, const value& a, const value& b);
    value eval_call_args(const ast::expr& e, std::size_t first, scope& sc, call_args& args);
    value lookup(const std::string& name, scope& sc);

    const render_options& opt_;
    std::tm now_;
    std::string* out_ = nullptr;
    scope* root_ = nullptr;
    std::size_t steps_ = 0;
    int depth_ = 0;
    int line_ = 0;
};

// Jinja2's escape(): & < > " ' as entities.
std::string html_escape(const std::string& s);

// Builtins (builtins.cpp): globals, filters, tests and methods of str/dict/list.
value global_function(renderer& r, const std::string& name);  // undefined when unknown
bool has_filter(const std::string& name);
value run_filter(renderer& r, const std::string& name, const value& input, const call_args& args);
std::optional<bool> run_test(renderer& r, const std::string& name, const value& input, const call_args& args);
value bound_method(renderer& r, const value& obj, const std::string& name);  // undefined when none
std::string python_format(renderer& r, const std::string& fmt, const call_args& args);  // str.format
std::string percent_format(renderer& r, const std::string& fmt, const value& args);     // str % args

}  // namespace sluice::chat::detail
