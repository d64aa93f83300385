#include "sluice/engine/incremental_decoder.hpp"

#include <gtest/gtest.h>

#include "support/tiny_vocabs.hpp"

namespace {

using namespace sluice::engine;

class decoder : public ::testing::Test {
protected:
    std::vector<std::byte> bytes_ = sluice::test::tiny_spm_vocab();
    tokenizer tok_ = tokenizer::from_gguf(sluice::model::gguf_file::parse(bytes_));
    token_id id(const std::string& t) const { return tok_.get_vocab().find(t); }
};

TEST_F(decoder, holds_back_partial_utf8_until_complete) {
    incremental_decoder d(tok_);
    // U+1F680 (rocket) as four byte-fallback tokens.
    EXPECT_EQ(d.push(id("<0xF0>")), "");
    EXPECT_EQ(d.push(id("<0x9F>")), "");
    EXPECT_EQ(d.push(id("<0x9A>")), "");
    EXPECT_EQ(d.pending(), 3u);
    EXPECT_EQ(d.push(id("<0x80>")), "\xF0\x9F\x9A\x80");
    EXPECT_EQ(d.pending(), 0u);
}

TEST_F(decoder, invalid_sequences_become_replacement_characters) {
    incremental_decoder d(tok_);
    EXPECT_EQ(d.push(id("<0xE2>")), "");
    EXPECT_EQ(d.push(id("a")), "\xEF\xBF\xBD" "a");  // lead byte followed by ASCII
    EXPECT_EQ(d.push(id("<0xC3>")), "");
    EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");  // stream ended mid-character
}

TEST_F(decoder, leading_space_and_special_tokens) {
    incremental_decoder strip(tok_, false, true);
    EXPECT_EQ(strip.push(id("\xE2\x96\x81" "ab")), "ab");
    EXPECT_EQ(strip.push(id("\xE2\x96\x81" "a")), " a");
    incremental_decoder keep(tok_);
    EXPECT_EQ(keep.push(id("\xE2\x96\x81" "ab")), " ab");
    EXPECT_EQ(keep.push(2), "");  // </s> is control: not rendered
    incremental_decoder special(tok_, true);
    EXPECT_EQ(special.push(2), "</s>");
}

TEST_F(decoder, streamed_text_equals_detokenized_text) {
    const std::string text = "ab c\xC3\xA9 ab,bc";
    const auto ids = tok_.tokenize(text, false, false);
    incremental_decoder d(tok_, false, true);
    std::string streamed;
    for (auto t : ids) streamed += d.push(t);
    streamed += d.flush();
    EXPECT_EQ(streamed, tok_.detokenize(ids, false, false));
    EXPECT_EQ(streamed, text);
}

}  // namespace
