// json_quote / json_escape_to: one well-formed JSON string for any bytes.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "sluice/util/json_text.hpp"

using sluice::json_escape_to;
using sluice::json_quote;

TEST(json_text, escapes_quotes_backslashes_and_short_forms) {
    EXPECT_EQ(json_quote(R"(say "hi" \ bye)"), R"("say \"hi\" \\ bye")");
    EXPECT_EQ(json_quote("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
    EXPECT_EQ(json_quote(""), "\"\"");
}

TEST(json_text, every_control_character_and_del_becomes_an_escape) {
    for (int c = 0; c < 0x80; ++c) {
        const std::string in(1, static_cast<char>(c));
        const std::string out = json_quote(in);
        for (std::size_t i = 1; i + 1 < out.size(); ++i) {
            const auto u = static_cast<unsigned char>(out[i]);
            EXPECT_TRUE(u >= 0x20 && u != 0x7f) << "raw byte " << int(u) << " in the quoting of " << c;
        }
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\b' && c != '\f') {
            char want[16];
            std::snprintf(want, sizeof want, "\"\\u%04x\"", c);
            EXPECT_EQ(out, want);
        }
    }
    EXPECT_EQ(json_quote("\x7f"), "\"\\u007f\"");
    EXPECT_EQ(json_quote(std::string(1, '\0')), "\"\\u0000\"");
}

TEST(json_text, bytes_above_ascii_pass_through_and_escape_appends) {
    EXPECT_EQ(json_quote("caf\xc3\xa9 \xe2\x82\xac"), "\"caf\xc3\xa9 \xe2\x82\xac\"");
    std::string out = "{\"k\":\"";
    json_escape_to("x\"y", out);
    EXPECT_EQ(out, "{\"k\":\"x\\\"y");
}
