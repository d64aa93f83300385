#include "engine/pre_tokenizer.hpp"

#include <gtest/gtest.h>

namespace {

using namespace sluice::engine::detail;

std::vector<std::string> split(const std::string& pre, const std::string& text) {
    const pre_tokenizer p(pre_tokenizer_for(pre).regexes);
    std::vector<std::string> out;
    for (auto piece : p.split(text)) out.emplace_back(piece);
    return out;
}

using pieces = std::vector<std::string>;

TEST(pre_tokenizer, llama3_groups_digits_in_threes_and_keeps_contractions) {
    EXPECT_EQ(split("llama-bpe", "Hello, world!! 1234567 it's"),
              (pieces{"Hello", ",", " world", "!!", " ", "123", "456", "7", " it", "'s"}));
}

TEST(pre_tokenizer, qwen2_splits_single_digits) {
    EXPECT_EQ(split("qwen2", "x 2024"), (pieces{"x", " ", "2", "0", "2", "4"}));
}

TEST(pre_tokenizer, gpt2_whitespace_runs_leave_the_last_space_to_the_word) {
    EXPECT_EQ(split("gpt-2", "a   b"), (pieces{"a", "  ", " b"}));
    EXPECT_EQ(split("gpt-neox", "a   b"), (pieces{"a", "  ", " b"}));
}

TEST(pre_tokenizer, sequences_isolate_earlier_matches) {
    // starcoder: digits first, then the GPT-2 rules on what remains.
    EXPECT_EQ(split("starcoder", "ab12 c"), (pieces{"ab", "1", "2", " c"}));
}

TEST(pre_tokenizer, unicode_whitespace_includes_next_line) {
    // U+0085 is White_Space for tokenizers though PCRE2's \s omits it. Were it not, the
    // punctuation rule would take both as one piece: {"a", "\x85\x85", "b"}.
    EXPECT_EQ(split("gpt-2", "a\xC2\x85\xC2\x85" "b"), (pieces{"a", "\xC2\x85", "\xC2\x85", "b"}));
}

TEST(pre_tokenizer, deepseek_llm_dollar_is_end_of_text_only) {
    EXPECT_EQ(split("deepseek-llm", "a \n"), (pieces{"a", " ", "\n"}));
}

TEST(pre_tokenizer, names_and_fallback) {
    EXPECT_TRUE(pre_tokenizer_for("smollm").known);
    EXPECT_FALSE(pre_tokenizer_for("smollm").clean_spaces);
    EXPECT_TRUE(pre_tokenizer_for("llama-bpe").ignore_merges);
    EXPECT_TRUE(pre_tokenizer_for("llama-bpe").add_bos);
    EXPECT_FALSE(pre_tokenizer_for("something-new").known);
    EXPECT_EQ(pre_tokenizer_for("something-new").regexes, pre_tokenizer_for("gpt-2").regexes);
    EXPECT_EQ(pre_tokenizer_for("").regexes.size(), 4u);  // llama.cpp's "default" set
}

TEST(pre_tokenizer, empty_text_has_no_pieces) { EXPECT_TRUE(split("qwen2", "").empty()); }

}  // namespace
