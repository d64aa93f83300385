// The Qwen 3.5 pre-tokenizer (`tokenizer.ggml.pre = qwen35`) on ../shared/models/qwen35-Q8_0.gguf
// (llama.cpp's qwen35 vocab fixture: the Qwen2 tokens and merges). It differs from Qwen2's in
// one point: combining marks (\p{M}) join letters in words and are not punctuation, which
// changes scripts written with marks (Thai, Devanagari) and decomposed accents. Expected ids
// come from an independent re-statement of llama.cpp's rules (its regex on Python's `regex`
// module, byte-level BPE over the file's merges), which reproduces every reference prompt.
#include <gtest/gtest.h>

#include <optional>

#include "sluice/engine/tokenizer.hpp"
#include "support/fixtures.hpp"

namespace {

using namespace sluice::engine;
using ids = std::vector<token_id>;

class qwen35_tokenizer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        const auto path = sluice::test::shared_dir() / "models/qwen35-Q8_0.gguf";
        if (!std::filesystem::exists(path)) return;
        const auto file = sluice::model::gguf_file::open(path.string());
        tok_.emplace(tokenizer::from_gguf(file));
    }
    void SetUp() override {
        if (!tok_) {
            if (sluice::test::shared_required()) FAIL() << "models/qwen35-Q8_0.gguf missing (SLUICE_REQUIRE_SHARED=1)";
            GTEST_SKIP() << "models/qwen35-Q8_0.gguf not found; set SLUICE_SHARED to run this test";
        }
    }
    static ids plain(const std::string& s) { return tok_->tokenize(s, false, false); }
    static std::optional<tokenizer> tok_;
};

std::optional<tokenizer> qwen35_tokenizer::tok_;

TEST_F(qwen35_tokenizer, vocabulary_is_byte_level_bpe_without_bos) {
    const auto& v = tok_->get_vocab();
    EXPECT_EQ(v.kind(), vocab_kind::bpe);
    EXPECT_EQ(v.pre_name(), "qwen35");
    EXPECT_TRUE(v.flags().byte_level);
    EXPECT_FALSE(v.flags().add_bos);
    EXPECT_FALSE(v.flags().clean_spaces);
    EXPECT_EQ(tok_->tokenize("a", true, true), (ids{64}));
}

TEST_F(qwen35_tokenizer, combining_marks_stay_in_words) {
    // Thai: the vowel marks keep the word whole (Qwen2's rules split it at every mark and
    // give 143126 23271 125136 28319 123886 83546).
    EXPECT_EQ(plain("สวัสดีครับ"), (ids{35648, 124294, 35648, 124311, 125459}));
    EXPECT_EQ(plain("नमस्ते दुनिया"),
              (ids{60096, 87244, 78368, 30484, 97, 34370, 14925, 99, 72653, 60096, 42311, 107, 23868}));
    // Decomposed accents (U+0308, U+0301).
    EXPECT_EQ(plain("nai\u0308ve cafe\u0301"), (ids{77, 2143, 136, 230, 586, 40930, 53839}));
}

TEST_F(qwen35_tokenizer, whitespace_newlines_emoji_and_contractions) {
    EXPECT_EQ(plain("  x \n\n  y\t\t z   "), (ids{220, 856, 4710, 220, 379, 298, 1147, 262}));
    EXPECT_EQ(plain("🚀🔥 👩‍👩‍👧"), (ids{145836, 144670, 61804, 102, 378, 235, 145233, 378, 235, 145665}));
    EXPECT_EQ(plain("don't WE'LL it's"), (ids{15007, 944, 19677, 6, 4086, 432, 594}));
    EXPECT_EQ(plain("\u00a0\u3000a"), (ids{4102, 22441, 64}));
}

TEST_F(qwen35_tokenizer, control_token_text_is_text_unless_parsed) {
    EXPECT_EQ(tok_->tokenize("<|im_start|>", false, true), (ids{151644}));
    EXPECT_EQ(plain("<|im_start|>"), (ids{27, 91, 318, 4906, 91, 29}));
}

// llama.cpp (de3ff81) makes "</s>" an end-of-generation control token in every vocabulary
// that has it, unless <|tool_response>, Gemma 4's, is there too. The Qwen2 tokens have an
// ordinary "</s>" (128247): it ends generation and is matched as special text.
TEST_F(qwen35_tokenizer, eos_text_is_an_end_of_generation_control_token) {
    const auto& v = tok_->get_vocab();
    EXPECT_EQ(v.token(128247).text, "</s>");
    EXPECT_TRUE(v.is_eog(128247));
    EXPECT_TRUE(v.token(128247).attr & attr_control);
    EXPECT_EQ(tok_->tokenize("a</s>b", false, true), (ids{64, 128247, 65}));
    EXPECT_EQ(plain("a</s>b"), (ids{64, 522, 82, 51407}));
}

TEST_F(qwen35_tokenizer, pieces_round_trip) {
    for (const std::string s : {"สวัสดีครับ", "nai\u0308ve cafe\u0301", "  x \n\n  y\t\t z   ", "🚀🔥 👩‍👩‍👧"}) {
        EXPECT_EQ(tok_->detokenize(plain(s), false, false), s);
    }
}

}  // namespace
