// Gemma 4's tokenizer (`tokenizer.ggml.model = gemma4`) on the real 262144-token vocabulary
// in ../shared/models/gemma4-Q4_0.gguf, beyond the reference prompts: whitespace runs,
// newline runs, characters outside the vocabulary (byte fallback), emoji, CJK and special-token
// text. Expected ids follow llama.cpp's rules (src/llama-vocab.cpp at de3ff81): spaces escaped
// as U+2581, the text split only into newline runs and the rest, merges by rank over UTF-8
// characters, a newline run that is a token kept whole, `<0xNN>` for bytes of characters that
// are not tokens. They were computed by an independent re-statement of those rules in Python
// over the file's tokens and merges, which reproduces every reference prompt.
#include <gtest/gtest.h>

#include <optional>

#include "sluice/engine/tokenizer.hpp"
#include "support/fixtures.hpp"

namespace {

using namespace sluice::engine;
using ids = std::vector<token_id>;

class gemma4_tokenizer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        const auto path = sluice::test::shared_dir() / "models/gemma4-Q4_0.gguf";
        if (!std::filesystem::exists(path)) return;
        const auto file = sluice::model::gguf_file::open(path.string());
        tok_.emplace(tokenizer::from_gguf(file));
    }
    void SetUp() override {
        if (!tok_) {
            if (sluice::test::shared_required()) FAIL() << "models/gemma4-Q4_0.gguf missing (SLUICE_REQUIRE_SHARED=1)";
            GTEST_SKIP() << "models/gemma4-Q4_0.gguf not found; set SLUICE_SHARED to run this test";
        }
    }
    static const tokenizer& tok() { return *tok_; }
    static ids plain(const std::string& s) { return tok_->tokenize(s, false, false); }
    static ids parsed(const std::string& s) { return tok_->tokenize(s, false, true); }
    static std::string text(const ids& v) { return tok_->detokenize(v, false, true); }

    static std::optional<tokenizer> tok_;
};

std::optional<tokenizer> gemma4_tokenizer::tok_;

TEST_F(gemma4_tokenizer, vocabulary_follows_llama_cpp_defaults) {
    const auto& v = tok().get_vocab();
    EXPECT_EQ(v.kind(), vocab_kind::bpe);
    EXPECT_EQ(v.size(), 262144u);
    EXPECT_FALSE(v.flags().byte_level);
    EXPECT_TRUE(v.flags().add_bos);
    EXPECT_FALSE(v.flags().add_eos);
    EXPECT_EQ(v.special().bos, 2);
    EXPECT_EQ(v.special().eos, 1);
    EXPECT_EQ(v.special().nl, 107);  // "\n"
    EXPECT_EQ(v.byte_token(0x0D), v.find("<0x0D>"));
    // End of generation: <eos>, <turn|> and <|tool_response>; "</s>" is an ordinary token here.
    EXPECT_TRUE(v.is_eog(1));
    EXPECT_TRUE(v.is_eog(106));
    EXPECT_TRUE(v.is_eog(50));
    EXPECT_FALSE(v.is_eog(212));
    EXPECT_EQ(v.token(212).text, "</s>");
    EXPECT_EQ(v.token(212).attr, attr_normal);
    // <|tool_response> is user-defined in the file; as an end-of-generation token it is
    // also a control token, so it is only matched in text when special text is parsed.
    EXPECT_EQ(v.token(50).attr, attr_user_defined | attr_control);
    EXPECT_EQ(tok().tokenize("hi", true, false), (ids{2, 2202}));
}

TEST_F(gemma4_tokenizer, whitespace_runs_are_escaped_spaces_and_tabs) {
    // No dummy prefix; runs of U+2581 and of tabs are tokens of their own.
    EXPECT_EQ(plain("  two  spaces   three\t\ttabs "), (ids{138, 13498, 138, 35220, 139, 19891, 255969, 39218, 236743}));
    EXPECT_EQ(plain("hello world"), (ids{23391, 1902}));
    EXPECT_EQ(plain(" hello"), (ids{29104}));
}

TEST_F(gemma4_tokenizer, newline_runs_stay_whole_up_to_the_longest_token) {
    EXPECT_EQ(plain("a\nb\n\nc\n\n\n\nd\n"), (ids{236746, 107, 236763, 108, 236755, 110, 236753, 107}));
    // 40 newlines: no such token, so the run is merged like any text (31 + 9).
    EXPECT_EQ(plain(std::string(40, '\n')), (ids{137, 115}));
    EXPECT_EQ(plain("x" + std::string(33, '\n') + "y"), (ids{236781, 137, 108, 236762}));
}

TEST_F(gemma4_tokenizer, cjk_and_emoji) {
    EXPECT_EQ(plain("日本語のテキスト 中文 한국어"), (ids{94951, 236945, 95830, 17346, 237364, 50413, 237430}));
    // A ZWJ family sequence is its parts; 🫠 is a token.
    EXPECT_EQ(plain("emoji 🚀🔥 👩‍👩‍👧 🫠"),
              (ids{67906, 236743, 242015, 240785, 236743, 243767, 237243, 243767, 237243, 244814, 236743, 253547}));
}

TEST_F(gemma4_tokenizer, characters_outside_the_vocabulary_fall_back_to_bytes) {
    const auto& v = tok().get_vocab();
    // U+00A0 and U+3000 are not tokens (nor are their pairs with neighbours): <0xC2><0xA0>, ...
    const ids nbsp = plain("\u00a0nbsp\u3000ideographic");
    EXPECT_EQ(nbsp, (ids{432, 398, 11539, 465, 366, 366, 754, 9814}));
    EXPECT_EQ(v.token(432).text, "<0xC2>");
    EXPECT_EQ(text(nbsp), "\u00a0nbsp\u3000ideographic");
    // U+E000 is a token; U+10FFFD is not.
    EXPECT_EQ(plain("private \ue000 use \U0010fffd"), (ids{7128, 236743, 245863, 1161, 236743, 482, 381, 429, 427}));
    // "\r" is only a byte token; curly quotes and math symbols are tokens.
    const std::string mixed = "café\r\nnaïve — “quotes” … ½ ∑ ∞";
    EXPECT_EQ(plain(mixed),
              (ids{123125, 236859, 251, 107, 1789, 238527, 560, 2192, 999, 52231, 236919, 7881, 47041, 76689, 95713}));
    EXPECT_EQ(text(plain(mixed)), mixed);
    // Invalid UTF-8 is U+FFFD, which is a token.
    EXPECT_EQ(plain("\xff"), (ids{238479}));
}

TEST_F(gemma4_tokenizer, control_token_text_is_text_unless_parsed) {
    EXPECT_EQ(parsed("<bos>hello<eos>"), (ids{2, 23391, 1}));
    EXPECT_EQ(plain("<bos>hello<eos>"), (ids{236820, 46757, 236813, 23391, 236820, 211827, 236813}));
    EXPECT_EQ(parsed("<|turn>user\nhi<turn|>"), (ids{105, 2364, 107, 2202, 106}));
    EXPECT_EQ(parsed("<|tool_response>"), (ids{50}));
    EXPECT_EQ(plain("<|tool_response>"), (ids{236820, 236909, 13205, 236779, 6275, 236813}));
    // User-defined tokens (<|tool_call>, <|"|>) are matched even in plain text.
    EXPECT_EQ(plain("a<|tool_call>b"), (ids{236746, 48, 236763}));
    EXPECT_EQ(plain("x <|\"|>y"), (ids{236781, 236743, 52, 236762}));
    // "<unused0>" and "</s>" are normal tokens: never split out, and BPE does not form them.
    EXPECT_EQ(parsed("hi <unused0> there"), (ids{2202, 655, 63634, 236771, 236813, 993}));
    EXPECT_EQ(parsed("</s>"), (ids{954, 236751, 236813}));
}

TEST_F(gemma4_tokenizer, pieces_unescape_spaces_and_decode_byte_tokens) {
    EXPECT_EQ(tok().piece(138), "  ");
    EXPECT_EQ(tok().piece(tok().get_vocab().find("<0x0D>")), "\r");
    EXPECT_EQ(tok().token_to_piece(106, false), "");  // control: nothing unless asked
    EXPECT_EQ(tok().token_to_piece(106, true), "<turn|>");
    EXPECT_EQ(tok().token_to_piece(48, false), "<|tool_call>");  // user-defined: always its text
    // BOS is dropped with remove_special; Gemma 4 cleans tokenization spaces like llama.cpp.
    EXPECT_EQ(tok().detokenize(tok().tokenize("Hi there", true, true), true, false), "Hi there");
    EXPECT_EQ(tok().detokenize(plain("a , b ."), false, false), "a, b.");
}

}  // namespace
