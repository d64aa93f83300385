#include "api_key_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sluice/util/error.hpp"

namespace sluice::app {
namespace {

std::vector<std::string> parse(const std::string& text) {
    std::istringstream in(text);
    return parse_api_keys(in, "keys");
}

TEST(api_key_file, one_key_per_line_with_comments_and_blank_lines) {
    const auto keys =
        parse("# team keys\nalpha-key\n\n   \n  # an indented comment is a comment\nbeta-key\n");
    EXPECT_EQ(keys, (std::vector<std::string>{"alpha-key", "beta-key"}));
}

TEST(api_key_file, surrounding_blanks_and_crlf_are_not_part_of_the_key) {
    const auto keys = parse("\talpha-key  \r\n  beta-key\r\n");
    EXPECT_EQ(keys, (std::vector<std::string>{"alpha-key", "beta-key"}));
}

TEST(api_key_file, inner_spaces_and_hashes_belong_to_the_key) {
    const auto keys = parse("key with spaces\nkey#with#hashes\n");
    EXPECT_EQ(keys, (std::vector<std::string>{"key with spaces", "key#with#hashes"}));
}

TEST(api_key_file, last_line_without_newline_is_read) {
    EXPECT_EQ(parse("a\nb"), (std::vector<std::string>{"a", "b"}));
}

TEST(api_key_file, a_file_without_keys_is_refused_not_served_open) {
    for (const char* text : {"", "\n\n", "# only a comment\n   # and another\n"}) {
        try {
            parse(text);
            ADD_FAILURE() << "accepted " << testing::PrintToString(text);
        } catch (const error& e) {
            EXPECT_EQ(e.code(), errc::invalid_argument);
            EXPECT_NE(std::string(e.what()).find("'keys' holds no key"), std::string::npos)
                << e.what();
        }
    }
}

TEST(api_key_file, reads_a_file_and_names_a_missing_one) {
    const auto path =
        std::filesystem::temp_directory_path() / ("sluice_keys_" + std::to_string(::getpid()));
    {
        std::ofstream f(path);
        f << "# credential\nsecret-1\n";
    }
    EXPECT_EQ(read_api_key_file(path.string()), (std::vector<std::string>{"secret-1"}));
    std::filesystem::remove(path);
    try {
        read_api_key_file(path.string());
        ADD_FAILURE() << "read a missing file";
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::io);
        EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace sluice::app
