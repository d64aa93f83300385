// The template engine's semantics, independent of ../shared.
#include "sluice/chat/jinja.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace {

using namespace sluice::chat;

std::string render(const std::string& src, const std::string& ctx_json = "{}", render_options o = {}) {
    return jinja_template::parse(src).render(value::from_json(boost::json::parse(ctx_json)), o);
}

std::string error_of(const std::string& src, const std::string& ctx_json = "{}", render_options o = {}) {
    try {
        (void)render(src, ctx_json, o);
    } catch (const template_error& e) {
        return e.what();
    }
    return "";
}

TEST(jinja, whitespace_control_trim_and_lstrip_blocks) {
    EXPECT_EQ(render("a\n  {% if true %}\n  b\n  {% endif %}\nc"), "a\n  b\nc");
    EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif %}"), "ab");
    EXPECT_EQ(render("{# comment #}\nx"), "x");
    EXPECT_EQ(render("line\n"), "line");  // one trailing newline is dropped
    EXPECT_EQ(render("{% raw %}{{ not evaluated }}{% endraw %}"), "{{ not evaluated }}");
}

TEST(jinja, loops_scoping_and_namespace) {
    EXPECT_EQ(render("{% for x in [1,2,3] %}{{ loop.index }}{{ '' if loop.last else ',' }}{% endfor %}"), "1,2,3");
    EXPECT_EQ(render("{% set n = 0 %}{% for x in [1,2] %}{% set n = n + x %}{% endfor %}{{ n }}"), "0");
    EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for x in [1,2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"), "3");
    EXPECT_EQ(render("{% for x in [] %}a{% else %}empty{% endfor %}"), "empty");
    EXPECT_EQ(render("{% for x in [1,2,3,4] if x is even %}{{ x }}{% endfor %}"), "24");
    EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
    EXPECT_EQ(render("{% for x in [1,2,3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}"), "1");
}

TEST(jinja, python_semantics) {
    EXPECT_EQ(render("{{ [1, 'a', none, true] }}"), "[1, 'a', None, True]");
    EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 1 / 2 }} {{ 2 ** 10 }}"), "3 -4 1 0.5 1024");
    EXPECT_EQ(render("{{ 'a' ~ 1 ~ none }}"), "a1None");
    EXPECT_EQ(render("{{ 'hello'[1:3] }}{{ [1,2,3][-1] }}{{ 'héllo'|length }}"), "el35");
    EXPECT_EQ(render("{{ {'b': 1, 'a': [1.5, 'x']} | tojson }}"), "{\"b\": 1, \"a\": [1.5, \"x\"]}");
    EXPECT_EQ(render("{{ 'ü' | tojson }}"), "\"ü\"");
    EXPECT_EQ(render("{{ '{} is {:>3}'.format('x', 7) }}"), "x is   7");
    EXPECT_EQ(render("{{ 'a,b,,c'.split(',') }} {{ '  x  '.strip() }}"), "['a', 'b', '', 'c'] x");
    EXPECT_EQ(render("{{ x.y is defined }} {{ x is mapping }}", R"({"x": {"y": null}})"), "True True");
}

TEST(jinja, macros_and_filters) {
    EXPECT_EQ(render("{% macro greet(name, p='!') %}hi {{ name }}{{ p }}{% endmacro %}{{ greet('bob') }}{{ greet('al', p='?') }}"),
              "hi bob!hi al?");
    EXPECT_EQ(render("{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join('|') }}",
                     R"({"msgs": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}, {"role": "user", "content": "c"}]})"),
              "a|c");
    EXPECT_EQ(render("{{ none | default('d') }}{{ missing | default('d') }}"), "Noned");
    EXPECT_EQ(render("{{ 'a\nb' | indent(2) }}"), "a\n  b");
    EXPECT_EQ(render("{% filter upper %}abc{% endfilter %}"), "ABC");
    EXPECT_EQ(render("{% set x %}inner{% endset %}{{ x }}"), "inner");
}

TEST(jinja, errors_carry_a_message_and_the_line) {
    const auto e = error_of("line one\n{{ raise_exception('bad input') }}");
    EXPECT_NE(e.find("bad input"), std::string::npos) << e;
    EXPECT_NE(e.find("template line 2"), std::string::npos) << e;
    EXPECT_NE(error_of("{{ 'a' + 1 }}").find("can only concatenate"), std::string::npos);
    EXPECT_NE(error_of("{{ 4052555153018976267 * 3 }}").find("too large"), std::string::npos);
    EXPECT_NE(error_of("{{ 3 ** 99 }}").find("too large"), std::string::npos);
    EXPECT_EQ(render("{{ 2 ** 62 }} {{ (-1) ** 1000001 }} {{ 1 ** 99999999999 }}"), "4611686018427387904 -1 1");
    EXPECT_NE(error_of("{{ x.y }}").find("'x' is undefined"), std::string::npos);
    EXPECT_NE(error_of("{{ [] | nosuchfilter }}").find("no filter named"), std::string::npos);
    EXPECT_NE(error_of("{% set l = [] %}{{ l.append(1) }}").find("unsafe"), std::string::npos);
    EXPECT_THROW((void)jinja_template::parse("{% if x %}unclosed"), template_error);
    EXPECT_THROW((void)jinja_template::parse("{{ 1 + }}"), template_error);
}

TEST(jinja, hostile_templates_are_bounded) {
    render_options o;
    o.max_steps = 100000;
    o.max_output = 1 << 16;
    EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "{}", o).find("recursion"), std::string::npos);
    EXPECT_NE(error_of("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}", "{}", o).find("step budget"),
              std::string::npos);
    EXPECT_NE(error_of("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}", "{}", o).find("exceeds"), std::string::npos);
    EXPECT_THROW((void)jinja_template::parse("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"), template_error);
    EXPECT_THROW((void)jinja_template::parse(std::string(300 * 10, ' ') + [] {
                     std::string s;
                     for (int i = 0; i < 300; ++i) s += "{% if x %}";
                     return s;
                 }()),
                 template_error);
    EXPECT_THROW((void)jinja_template::parse("{{ " + std::string(5000, '-') + "1 }}"), template_error);
}

TEST(jinja, strftime_now_uses_the_given_time) {
    render_options o;
    std::tm t{};
    t.tm_year = 124;
    t.tm_mon = 6;
    t.tm_mday = 26;
    o.fixed_time = t;
    EXPECT_EQ(render("{{ strftime_now('%d %b %Y') }}", "{}", o), "26 Jul 2024");
}

}  // namespace
