// Hostile grammars get a clear grammar_error or stay bounded: never a hang, a stack overflow
// or unbounded memory.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sluice/grammar/matcher.hpp"

namespace {

using namespace sluice::grammar;

std::shared_ptr<const token_vocabulary> letters() {
    std::vector<std::string> p;
    for (char c = 'a'; c <= 'z'; ++c) p.emplace_back(1, c);
    p.emplace_back("xx");
    p.emplace_back("(");
    p.emplace_back(")");
    return std::make_shared<token_vocabulary>(std::move(p), std::vector<std::int32_t>{}, std::vector<std::int32_t>{});
}

TEST(hostile_grammar, ambiguous_left_recursion_is_an_error) {
    EXPECT_THROW(parse_gbnf("root ::= a\na ::= a a | \"x\""), grammar_error);
}

TEST(hostile_grammar, deep_parentheses) {
    std::string deep = "root ::= " + std::string(100000, '(') + "\"a\"" + std::string(100000, ')');
    try {
        parse_gbnf(deep);
        FAIL() << "expected an error";
    } catch (const grammar_error& e) {
        EXPECT_NE(std::string(e.what()).find("nested deeper"), std::string::npos) << e.what();
    }
    std::string ok = "root ::= " + std::string(100, '(') + "\"a\"" + std::string(100, ')');
    EXPECT_NO_THROW(parse_gbnf(ok));
}

TEST(hostile_grammar, long_rule_chains_do_not_recurse) {
    std::string g = "root ::= r0\n";
    for (int i = 0; i < 15000; ++i) g += "r" + std::to_string(i) + " ::= r" + std::to_string(i + 1) + " \"x\"\n";
    g += "r15000 ::= \"y\"\n";
    auto gr = parse_gbnf(g);
    matcher m(gr, letters());
    EXPECT_TRUE(m.accept_bytes("y"));
    EXPECT_FALSE(m.is_complete());
    EXPECT_EQ(m.forced_bytes(), std::string(4096, 'x'));  // capped
    EXPECT_TRUE(m.accept_bytes(std::string(15000, 'x')));
    EXPECT_TRUE(m.is_complete());
}

TEST(hostile_grammar, hundred_thousand_alternatives) {
    std::string g = "root ::= \"w0\"";
    for (int i = 1; i < 100000; ++i) g += " | \"w" + std::to_string(i) + "\"";
    auto start = std::chrono::steady_clock::now();
    auto gr = parse_gbnf(g);
    matcher m(gr, letters());
    EXPECT_TRUE(m.accept_bytes("w99999"));
    EXPECT_TRUE(m.is_complete());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(hostile_grammar, exponential_ambiguity_is_bounded) {
    // Not left-recursive, but every 'x' doubles the ways to parse: the stack set is capped.
    auto gr = parse_gbnf("root ::= a\na ::= \"x\" a \"y\" | \"x\" a \"y\" \"y\" | \"x\" a | \"\"");
    matcher m(gr, letters());
    bool threw = false;
    try {
        for (int i = 0; i < 5000 && !threw; ++i) {
            std::vector<std::uint32_t> mask;
            m.fill_mask(mask);
            if (!m.accept_bytes("x")) break;
        }
    } catch (const grammar_error& e) {
        threw = true;
        EXPECT_NE(std::string(e.what()).find("ambiguous"), std::string::npos) << e.what();
    }
    SUCCEED() << (threw ? "refused" : "stayed bounded");
}

TEST(hostile_grammar, large_repetition_counts_hit_the_state_limit) {
    EXPECT_THROW(parse_gbnf("root ::= ([a-z] [0-9]{10}){9000} ([a-z]{9000}){9000}"), grammar_error);
}

TEST(hostile_grammar, long_generation_keeps_memory_bounded) {
    auto gr = parse_gbnf("root ::= item*\nitem ::= \"(\" item* \")\" | [a-z]");
    auto v = letters();
    matcher m(gr, v);
    std::vector<std::uint32_t> mask;
    for (int round = 0; round < 200; ++round) {
        int depth = 1 + round * 37 % 300;
        ASSERT_TRUE(m.accept_bytes(std::string(static_cast<std::size_t>(depth), '(')));
        m.fill_mask(mask);
        ASSERT_TRUE(m.accept_bytes("a"));
        ASSERT_TRUE(m.accept_bytes(std::string(static_cast<std::size_t>(depth), ')')));
    }
    EXPECT_TRUE(m.is_complete());
}

}  // namespace
