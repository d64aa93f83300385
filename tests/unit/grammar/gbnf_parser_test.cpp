#include <gtest/gtest.h>

#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/matcher.hpp"

namespace {

using namespace sluice::grammar;

// Parses `text` expecting a grammar_error whose message contains `needle`; returns it.
grammar_error parse_error(std::string_view text, std::string_view needle) {
    try {
        parse_gbnf(text);
    } catch (const grammar_error& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
        EXPECT_EQ(e.code(), sluice::errc::invalid_argument);
        return e;
    }
    ADD_FAILURE() << "no error for: " << text;
    return grammar_error("none");
}

TEST(gbnf_parser, parses_the_llama_cpp_dialect) {
    auto g = parse_gbnf(R"(
# a comment line
root ::= greeting (" " name)? # trailing comment
greeting ::= "hello" | "hi"
  | "hey"
name ::= [A-Z] [a-z]* ( "-"
    [A-Z] [a-z]* )*
digits ::= [0-9]{1,3} [0-9]{2} [0-9]{2,} [0-9]{,2}
esc ::= "\n\t\r\\\"\x41\u00e9\U0001F600" [\]\[^a\-] [^"\\] .
)");
    EXPECT_EQ(g->rule_count(), 5u);
    EXPECT_GT(g->state_count(), 10u);
}

TEST(gbnf_parser, custom_root_and_empty_alternatives) {
    auto g = parse_gbnf("start ::= \"a\" | ()\nother ::= \"b\"", "start");
    EXPECT_EQ(g->rule_count(), 2u);
    EXPECT_NO_THROW(parse_gbnf("root ::= \"\""));
    EXPECT_NO_THROW(parse_gbnf("root ::= ( )"));
}

TEST(gbnf_parser, printed_grammar_reads_back_to_the_same_language) {
    const char* src = R"(root ::= "a\"b\\" [^"\\\n] x{2,3} (x | "é")* "z"? .
x ::= [a-cx-z] | "\x01")";
    auto g = parse_gbnf(src);
    std::string printed = g->to_gbnf();
    auto g2 = parse_gbnf(printed);
    EXPECT_EQ(g2->to_gbnf(), printed);
    auto v = std::make_shared<token_vocabulary>(std::vector<std::string>{"a"}, std::vector<std::int32_t>{},
                                                std::vector<std::int32_t>{});
    for (std::string text : {std::string("a\"b\\qaby\xC3\xA9zw"), std::string("a\"b\\qab\x01zw"), std::string("a\"b\\\"abz")}) {
        matcher m1(g, v), m2(g2, v);
        bool a1 = m1.accept_bytes(text) && m1.is_complete();
        bool a2 = m2.accept_bytes(text) && m2.is_complete();
        EXPECT_EQ(a1, a2) << text << "\n" << printed;
    }
}

TEST(gbnf_parser, syntax_errors_name_the_offset) {
    auto e = parse_error("root ::= \"abc", "unterminated string literal at byte 9");
    EXPECT_EQ(e.offset(), 9u);
    parse_error("root ::= [abc", "unterminated character class");
    parse_error("root ::= (\"a\"", "expected ')'");
    parse_error("root ::= \"a\" )", "unexpected character ')'");
    parse_error("root = \"a\"", "expected '::='");
    parse_error("root ::= *", "without an element");
    parse_error("root ::= \"a\"{3,1}", "n < m");
    parse_error("root ::= \"a\"{2", "expected '}'");
    parse_error("root ::= \"\\q\"", "unknown escape");
    parse_error("root ::= \"\\x4\"", "hex digits");
    parse_error("root ::= \"\\uD800\"", "not a Unicode scalar value");
    parse_error("root ::= [z-a]", "end before start");
    parse_error("root ::= \"a\" @", "unexpected character '@'");
    parse_error("root ::= <think>", "not supported");
    parse_error("root ::= \"\xFF\"", "invalid UTF-8");
}

TEST(gbnf_parser, semantic_errors) {
    parse_error("", "empty grammar");
    parse_error("  # only a comment\n", "empty grammar");
    parse_error("item ::= \"a\"", "no 'root' rule");
    auto e = parse_error("root ::= item other\nitem ::= \"a\"", "undefined rule 'other'");
    EXPECT_EQ(e.offset(), 14u);
    parse_error("root ::= \"a\"\nroot ::= \"b\"", "defined twice");
    parse_error("root ::= root \"a\" | \"b\"", "left-recursive");
    parse_error("root ::= a\na ::= b \"x\"\nb ::= \"\" | a", "left-recursive");
    parse_error("root ::= a a | \"x\"\na ::= root", "left-recursive");
    parse_error("root ::= \"x\" root", "can never match a finite string");
    parse_error("root ::= a\na ::= \"x\" a", "can never match a finite string");
}

TEST(gbnf_parser, limits_are_errors) {
    grammar_limits small;
    small.max_rules = 3;
    EXPECT_THROW(parse_gbnf("root ::= a b c\na ::= \"a\"\nb ::= \"b\"\nc ::= \"c\"", "root", small), grammar_error);
    small = {};
    small.max_states = 50;
    EXPECT_THROW(parse_gbnf("root ::= [a-z]{40} [0-9]{40}", "root", small), grammar_error);
    parse_error("root ::= \"a\"{100000}", "repetition count above the limit");
    parse_error("root ::= \"a\"*****", "repetition operators");
    small = {};
    small.max_text_bytes = 10;
    EXPECT_THROW(parse_gbnf("root ::= \"aaaaaaaaaaaa\"", "root", small), grammar_error);
}

}  // namespace
