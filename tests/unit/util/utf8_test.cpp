#include "sluice/util/utf8.hpp"

#include <gtest/gtest.h>

namespace {

using namespace sluice;

TEST(utf8, decodes_and_encodes_every_length) {
    const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x9A\x80";  // a é € 🚀
    EXPECT_EQ(utf8::to_code_points(s), (std::vector<char32_t>{'a', 0xE9, 0x20AC, 0x1F680}));
    std::string back;
    for (char32_t c : utf8::to_code_points(s)) utf8::append(back, c);
    EXPECT_EQ(back, s);
}

TEST(utf8, invalid_bytes_decode_to_replacement_one_byte_at_a_time) {
    EXPECT_EQ(utf8::to_code_points("\xFF" "a"), (std::vector<char32_t>{utf8::replacement, 'a'}));
    EXPECT_EQ(utf8::to_code_points("\xC0\xAF"), (std::vector<char32_t>{utf8::replacement, utf8::replacement}));  // overlong
    EXPECT_EQ(utf8::to_code_points("\xED\xA0\x80").front(), utf8::replacement);  // surrogate
    EXPECT_EQ(utf8::to_code_points("\xF0\x9F"), (std::vector<char32_t>{utf8::replacement, utf8::replacement}));
}

TEST(utf8, validity_and_sanitising) {
    EXPECT_TRUE(utf8::is_valid("plain \xE2\x82\xAC \xEF\xBF\xBD"));
    EXPECT_FALSE(utf8::is_valid("\xE2\x82"));
    EXPECT_EQ(utf8::sanitize("a\xFFz"), "a\xEF\xBF\xBDz");
}

TEST(utf8, complete_prefix_excludes_only_an_unfinished_tail) {
    EXPECT_EQ(utf8::complete_prefix_length("ab"), 2u);
    EXPECT_EQ(utf8::complete_prefix_length("a\xF0\x9F\x9A"), 1u);
    EXPECT_EQ(utf8::complete_prefix_length("a\xF0\x9F\x9A\x80"), 5u);
    EXPECT_EQ(utf8::complete_prefix_length("a\xC3"), 1u);
    EXPECT_EQ(utf8::complete_prefix_length("\x80\x80"), 2u);  // stray continuation bytes: complete (invalid)
}

}  // namespace
