#include "sluice/grammar/matcher.hpp"

#include <gtest/gtest.h>

#include "unit/grammar/mask_oracle.hpp"

namespace {

using namespace sluice::grammar;

bool accepts(std::string_view gbnf, std::string_view text) {
    matcher m(parse_gbnf(gbnf), std::make_shared<token_vocabulary>(std::vector<std::string>{"x"}, std::vector<std::int32_t>{},
                                                                      std::vector<std::int32_t>{}));
    return m.accept_bytes(text) && m.is_complete();
}

std::shared_ptr<const token_vocabulary> tiny_vocab(std::vector<std::string> pieces) {
    return std::make_shared<token_vocabulary>(std::move(pieces), std::vector<std::int32_t>{}, std::vector<std::int32_t>{});
}

constexpr const char* k_json = R"(
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null")
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9]{1,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
)";

TEST(matcher, accepts_and_rejects_strings) {
    EXPECT_TRUE(accepts(R"(root ::= "a" "b"*)", "abbb"));
    EXPECT_TRUE(accepts(R"(root ::= "a" "b"*)", "a"));
    EXPECT_FALSE(accepts(R"(root ::= "a" "b"*)", "ba"));
    EXPECT_FALSE(accepts(R"(root ::= "a" "b"+)", "a"));
    EXPECT_TRUE(accepts(R"(root ::= [a-c]{2,3})", "abc"));
    EXPECT_FALSE(accepts(R"(root ::= [a-c]{2,3})", "abca"));
    EXPECT_FALSE(accepts(R"(root ::= [a-c]{2,3})", "a"));
    EXPECT_TRUE(accepts(R"(root ::= [a-c]{2})", "cc"));
    EXPECT_TRUE(accepts(R"(root ::= "x"{2,})", "xxxxx"));
    EXPECT_FALSE(accepts(R"(root ::= "x"{2,})", "x"));
    EXPECT_TRUE(accepts(R"(root ::= [^"\\]*)", "héllo"));
    EXPECT_FALSE(accepts(R"(root ::= [^"\\]*)", "a\"b"));
    EXPECT_TRUE(accepts("root ::= .", "\xF0\x9F\x98\x80"));
    EXPECT_FALSE(accepts("root ::= .", "ab"));
    EXPECT_TRUE(accepts(R"(root ::= "\u00e9\x41\U0001F600")", "\xC3\xA9" "A" "\xF0\x9F\x98\x80"));
    EXPECT_TRUE(accepts(k_json, R"({"a":[1,2.5,-3e+10,"x\"y",true,null,{}]})"));
    EXPECT_TRUE(accepts(k_json, "{\n  \"a\": [1, 2]\n}"));
    EXPECT_FALSE(accepts(k_json, R"({"a":[1,2,]})"));
    EXPECT_FALSE(accepts(k_json, R"({"a":01})"));
}

TEST(matcher, rule_references_and_recursion) {
    const char* g = R"g(
root ::= expr
expr ::= term ("+" term)*
term ::= [0-9]+ | "(" expr ")"
)g";
    EXPECT_TRUE(accepts(g, "1+(2+(3+4))+5"));
    EXPECT_FALSE(accepts(g, "1+(2+3"));
    EXPECT_FALSE(accepts(g, "1++2"));
}

TEST(matcher, partial_utf8_across_tokens) {
    auto v = tiny_vocab({"\xC3", "\xA9", "\xC3\xA9", "a", "\xE2\x82", "\xAC"});
    matcher m(parse_gbnf(R"(root ::= [à-ÿ€]+)"), v);
    EXPECT_TRUE(m.accept_token(0));  // first byte of é
    EXPECT_FALSE(m.is_complete());
    EXPECT_FALSE(m.accept_token(3));
    EXPECT_TRUE(m.accept_token(1));
    EXPECT_TRUE(m.is_complete());
    EXPECT_TRUE(m.accept_token(4));
    EXPECT_TRUE(m.accept_token(5));
    EXPECT_TRUE(m.is_complete());
    EXPECT_EQ(m.accepted_prefix("\xC3\xA9z"), 2u);
}

TEST(matcher, eog_allowed_exactly_when_complete) {
    auto v = std::make_shared<token_vocabulary>(std::vector<std::string>{"a", "b", "</s>", "<ctl>", ""},
                                                std::vector<std::int32_t>{2}, std::vector<std::int32_t>{3});
    matcher m(parse_gbnf(R"(root ::= "a" "b"?)"), v);
    std::vector<std::uint32_t> mask;
    m.fill_mask(mask);
    ASSERT_EQ(mask.size(), 1u);
    EXPECT_EQ(mask[0], 0b00001u);
    EXPECT_FALSE(m.accept_token(2));
    ASSERT_TRUE(m.accept_token(0));
    m.fill_mask(mask);
    EXPECT_EQ(mask[0], 0b00110u);  // b or EOG; never the special or the empty piece
    EXPECT_FALSE(m.accept_token(3));
    EXPECT_FALSE(m.accept_token(4));
    ASSERT_TRUE(m.accept_token(2));
    EXPECT_TRUE(m.is_terminated());
    EXPECT_FALSE(m.can_continue());
    m.fill_mask(mask);
    EXPECT_EQ(mask[0], 0u);
    m.reset();
    m.fill_mask(mask);
    EXPECT_EQ(mask[0], 0b00001u);
}

TEST(matcher, rejected_token_leaves_state_unchanged) {
    auto v = tiny_vocab({"ab", "ax", "a"});
    matcher m(parse_gbnf(R"(root ::= "ab" "c")"), v);
    EXPECT_FALSE(m.accept_token(1));
    EXPECT_FALSE(m.accept_bytes("abd"));
    EXPECT_TRUE(m.accept_token(0));
    EXPECT_EQ(m.forced_bytes(), "c");
}

TEST(matcher, forced_bytes) {
    auto v = tiny_vocab({"a"});
    matcher m(parse_gbnf(R"(root ::= "{\"name\": \"" [a-z]+ "\", \"age\": " [0-9]+ "}")"), v);
    EXPECT_EQ(m.forced_bytes(), "{\"name\": \"");
    ASSERT_TRUE(m.accept_bytes("{\"name\": \"bob"));
    EXPECT_EQ(m.forced_bytes(), "");
    ASSERT_TRUE(m.accept_bytes("\""));
    EXPECT_EQ(m.forced_bytes(), ", \"age\": ");
    ASSERT_TRUE(m.accept_bytes(", \"age\": 4"));
    EXPECT_EQ(m.forced_bytes(), "");
    matcher opt(parse_gbnf(R"(root ::= "ab" | "ac")"), v);
    EXPECT_EQ(opt.forced_bytes(), "a");
    matcher done(parse_gbnf(R"(root ::= "x" "yz"?)"), v);
    ASSERT_TRUE(done.accept_bytes("x"));
    EXPECT_EQ(done.forced_bytes(), "");  // may end here
    matcher utf(parse_gbnf(R"(root ::= "é" [a-b])"), v);
    EXPECT_EQ(utf.forced_bytes(), "\xC3\xA9");
}

TEST(matcher, copies_are_independent) {
    auto v = tiny_vocab({"a", "b"});
    matcher m(parse_gbnf(R"(root ::= "a"+ "b")"), v);
    ASSERT_TRUE(m.accept_bytes("aa"));
    matcher c = m;
    ASSERT_TRUE(c.accept_bytes("b"));
    EXPECT_TRUE(c.is_complete());
    EXPECT_FALSE(m.is_complete());
    EXPECT_TRUE(m.accept_bytes("ab"));
}

}  // namespace
