#include "sluice/engine/tokenizer.hpp"

#include <gtest/gtest.h>

#include "sluice/util/error.hpp"
#include "support/fixtures.hpp"
#include "support/tiny_vocabs.hpp"

namespace {

using namespace sluice::engine;

tokenizer make(const std::vector<std::byte>& bytes) {
    return tokenizer::from_gguf(sluice::model::gguf_file::parse(bytes));
}

class tiny_spm : public ::testing::Test {
protected:
    std::vector<std::byte> bytes_ = sluice::test::tiny_spm_vocab();
    tokenizer tok_ = make(bytes_);
    token_id id(const std::string& t) const { return tok_.get_vocab().find(t); }
};

TEST_F(tiny_spm, defaults_follow_sentencepiece_rules) {
    const auto& v = tok_.get_vocab();
    EXPECT_EQ(v.kind(), vocab_kind::spm);
    EXPECT_TRUE(v.flags().add_bos);
    EXPECT_TRUE(v.flags().add_space_prefix);
    EXPECT_TRUE(v.is_eog(2));
    EXPECT_EQ(v.special().nl, v.find("<0x0A>"));
}

TEST_F(tiny_spm, merges_highest_score_first_with_dummy_prefix) {
    // " ab" -> "▁ab" (score -0.5) beats "▁a"+"b" and "a"+"b".
    EXPECT_EQ(tok_.tokenize("ab", true, true), (std::vector<token_id>{1, id("\xE2\x96\x81" "ab")}));
    EXPECT_EQ(tok_.tokenize("ab", false, false), (std::vector<token_id>{id("\xE2\x96\x81" "ab")}));
    // "abc": the best pair is "bc" (-0.7 beats "ab" at -1.2), then "▁a"; "▁ab" never forms.
    EXPECT_EQ(tok_.tokenize("abc", false, false), (std::vector<token_id>{id("\xE2\x96\x81" "a"), id("bc")}));
}

TEST_F(tiny_spm, unknown_characters_fall_back_to_bytes) {
    const auto ids = tok_.tokenize("\xC3\xA9", false, false);  // é
    EXPECT_EQ(ids, (std::vector<token_id>{id("\xE2\x96\x81"), id("<0xC3>"), id("<0xA9>")}));
    EXPECT_EQ(tok_.detokenize(ids, false, false), "\xC3\xA9");
}

TEST_F(tiny_spm, control_tokens_only_when_parsing_special_text) {
    const auto parsed = tok_.tokenize("<ctl>a", false, true);
    ASSERT_FALSE(parsed.empty());
    EXPECT_EQ(parsed.front(), id("<ctl>"));
    // After a special token SentencePiece adds the dummy prefix again.
    EXPECT_EQ(parsed, (std::vector<token_id>{id("<ctl>"), id("\xE2\x96\x81" "a")}));
    const auto plain = tok_.tokenize("<ctl>a", false, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), id("<ctl>")), 0);
}

TEST_F(tiny_spm, user_defined_tokens_are_always_matched) {
    const auto ids = tok_.tokenize("a<|user|>b", false, false);
    EXPECT_NE(std::find(ids.begin(), ids.end(), id("<|user|>")), ids.end());
}

// A rendered chat prompt: control tokens only outside the client's ranges; user-defined
// tokens everywhere (they are text to the tokenizer too).
TEST_F(tiny_spm, control_tokens_are_not_matched_in_plain_ranges) {
    const std::string text = "<ctl>a<ctl>b<|user|>";
    const std::vector<text_range> plain{{6, 14}};  // "<ctl>b<|user|>" came from the client
    const auto ids = tok_.tokenize(text, false, plain);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), id("<ctl>")), 1);
    EXPECT_EQ(ids.front(), id("<ctl>"));
    EXPECT_EQ(std::count(ids.begin(), ids.end(), id("<|user|>")), 1);
    EXPECT_EQ(tok_.detokenize(ids, false, true), "<ctl> a<ctl>b<|user|>");
    // No ranges: exactly the special-parsing tokenization.
    EXPECT_EQ(tok_.tokenize(text, false, std::vector<text_range>{}), tok_.tokenize(text, false, true));
    const std::vector<text_range> edge{{4, 1}};  // overlapping the first token's last byte is enough
    const auto cut = tok_.tokenize(text, false, edge);
    EXPECT_EQ(std::count(cut.begin(), cut.end(), id("<ctl>")), 1);
    EXPECT_NE(cut.front(), id("<ctl>"));
}

TEST_F(tiny_spm, detokenize_drops_the_dummy_prefix_like_llama_cpp) {
    EXPECT_EQ(tok_.detokenize(tok_.tokenize("ab c", false, false), false, false), "ab c");
    // With a BOS in front the dummy prefix is consumed by the BOS position and the space stays.
    EXPECT_EQ(tok_.detokenize(tok_.tokenize("ab c", true, false), true, false), " ab c");
    EXPECT_EQ(tok_.token_to_piece(1, false), "");
    EXPECT_EQ(tok_.token_to_piece(1, true), "<s>");
    EXPECT_THROW((void)tok_.token_to_piece(100000, true), sluice::error);
}

TEST_F(tiny_spm, invalid_utf8_survives_as_byte_tokens) {
    const std::string bad("a\xFF\xC3", 3);
    const auto ids = tok_.tokenize(bad, false, false);
    EXPECT_EQ(ids, (std::vector<token_id>{id("\xE2\x96\x81" "a"), id("<0xFF>"), id("<0xC3>")}));
    EXPECT_EQ(tok_.detokenize(ids, false, false), bad);
}

TEST_F(tiny_spm, empty_text) {
    EXPECT_TRUE(tok_.tokenize("", false, true).empty());
    EXPECT_EQ(tok_.tokenize("", true, true), (std::vector<token_id>{1}));
}

class tiny_bpe : public ::testing::Test {
protected:
    std::vector<std::byte> bytes_ = sluice::test::tiny_bpe_vocab();
    tokenizer tok_ = make(bytes_);
    token_id id(const std::string& t) const { return tok_.get_vocab().find(t); }
};

TEST_F(tiny_bpe, merges_by_rank_within_pre_tokenized_words) {
    EXPECT_EQ(tok_.get_vocab().kind(), vocab_kind::bpe);
    EXPECT_FALSE(tok_.get_vocab().flags().add_bos);
    // qwen2 splits " ab" as one word: Ġ a b -> Ġa b -> Ġab
    EXPECT_EQ(tok_.tokenize(" ab", true, true), (std::vector<token_id>{id("\xC4\xA0" "ab")}));
    EXPECT_EQ(tok_.tokenize("abab", false, false), (std::vector<token_id>{id("ab"), id("ab")}));
}

TEST_F(tiny_bpe, pieces_reassemble_the_input_bytes) {
    for (const std::string s : {"hello, world", "  two  spaces\n\nnew", "\xF0\x9F\x9A\x80 rocket", "tab\tx"}) {
        std::string joined;
        for (auto t : tok_.tokenize(s, false, false)) joined += tok_.piece(t);
        EXPECT_EQ(joined, s);
    }
}

TEST_F(tiny_bpe, invalid_utf8_becomes_replacement_characters) {
    std::string joined;
    for (auto t : tok_.tokenize(std::string("a\xFFz", 3), false, false)) joined += tok_.piece(t);
    EXPECT_EQ(joined, "a\xEF\xBF\xBDz");
}

TEST_F(tiny_bpe, special_text_and_eog) {
    const auto ids = tok_.tokenize("<|im_start|>ab", false, true);
    EXPECT_EQ(ids, (std::vector<token_id>{id("<|im_start|>"), id("ab")}));
    EXPECT_GT(tok_.tokenize("<|im_start|>ab", false, false).size(), 2u);
    EXPECT_TRUE(tok_.get_vocab().is_eog(id("<|endoftext|>")));
}

// Gemma 4's shape on a tiny vocabulary: what the real one cannot show (its merges happen to
// form every newline-run token anyway, and its add_bos_token is already true).
class tiny_gemma4 : public ::testing::Test {
protected:
    std::vector<std::byte> bytes_ = sluice::test::tiny_spm_shaped_bpe_vocab();
    tokenizer tok_ = make(bytes_);
    token_id id(const std::string& t) const { return tok_.get_vocab().find(t); }
};

TEST_F(tiny_gemma4, ignores_pre_and_always_adds_bos) {
    const auto& v = tok_.get_vocab();
    EXPECT_EQ(v.pre_name(), "gemma4");  // the file says llama-bpe
    EXPECT_TRUE(v.flags().add_bos);     // the file says false
    EXPECT_EQ(tok_.tokenize("a", true, false), (std::vector<token_id>{2, id("a")}));
}

TEST_F(tiny_gemma4, escapes_spaces_and_merges_characters) {
    const std::string sp = "\xE2\x96\x81";
    EXPECT_EQ(tok_.tokenize(" a", false, false), (std::vector<token_id>{id(sp + "a")}));
    EXPECT_EQ(tok_.tokenize("  ab", false, false), (std::vector<token_id>{id(sp), id(sp + "a"), id("b")}));
    EXPECT_EQ(tok_.tokenize("ab", false, false), (std::vector<token_id>{id("ab")}));
    // A two-byte character that is a token, and one that is not (byte fallback).
    EXPECT_EQ(tok_.tokenize("\xC3\xA9\xC3\xA8", false, false),
              (std::vector<token_id>{id("\xC3\xA9"), id("<0xC3>"), id("<0xA8>")}));
    EXPECT_EQ(tok_.detokenize(tok_.tokenize("  ab \xC3\xA8", false, false), false, false), "  ab \xC3\xA8");
}

TEST_F(tiny_gemma4, newline_runs_that_are_tokens_stay_whole) {
    // No merge forms "\n\n\n", yet the run is one token; "\n\n" is not a token.
    EXPECT_EQ(tok_.tokenize("a\n\n\nb", false, false), (std::vector<token_id>{id("a"), id("\n\n\n"), id("b")}));
    EXPECT_EQ(tok_.tokenize("\n\n", false, false), (std::vector<token_id>{id("\n"), id("\n")}));
    EXPECT_EQ(tok_.get_vocab().special().nl, id("\n"));
}

TEST_F(tiny_gemma4, tool_response_is_an_end_of_generation_control_token) {
    const token_id tr = id("<|tool_response>");
    EXPECT_TRUE(tok_.get_vocab().is_eog(tr));
    EXPECT_EQ(tok_.tokenize("a<|tool_response>", false, true), (std::vector<token_id>{id("a"), tr}));
    EXPECT_NE(tok_.tokenize("a<|tool_response>", false, false).back(), tr);
    EXPECT_EQ(tok_.token_to_piece(tr, false), "");
}

TEST(tiny_sarvam, spm_shaped_pre_under_gpt2_without_the_gemma4_rules) {
    const auto bytes = sluice::test::tiny_spm_shaped_bpe_vocab("gpt2", "sarvam-moe");
    const auto tok = make(bytes);
    const auto& v = tok.get_vocab();
    auto id = [&](const std::string& t) { return v.find(t); };
    EXPECT_FALSE(v.flags().byte_level);
    EXPECT_FALSE(v.flags().add_bos);
    EXPECT_FALSE(v.flags().clean_spaces);
    EXPECT_EQ(tok.tokenize(" a", false, false), (std::vector<token_id>{id("\xE2\x96\x81" "a")}));
    EXPECT_EQ(tok.tokenize("a\n\n\nb", false, false), (std::vector<token_id>{id("a"), id("\n"), id("\n"), id("\n"), id("b")}));
}

TEST(pre_tokenizer_fallback, unknown_pre_uses_gpt2_rules) {
    const auto bytes = sluice::test::tiny_bpe_vocab("no-such-pre-tokenizer");
    const auto tok = make(bytes);
    EXPECT_EQ(tok.get_vocab().pre_name(), "no-such-pre-tokenizer");
    EXPECT_EQ(tok.tokenize(" ab", false, false), (std::vector<token_id>{tok.get_vocab().find("\xC4\xA0" "ab")}));
}

TEST(vocab_errors, unsupported_tokenizer_model_is_named) {
    sluice::model::gguf_writer w;
    w.add_string("tokenizer.ggml.model", "rwkv");
    w.add_strings("tokenizer.ggml.tokens", {"a"});
    const auto b = w.bytes();
    try {
        (void)make(b);
        FAIL();
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), sluice::errc::unsupported);
        EXPECT_NE(std::string(e.what()).find("rwkv"), std::string::npos);
    }
}

TEST(vocab_errors, missing_tokenizer_keys_are_named) {
    sluice::model::gguf_writer w;
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_strings("tokenizer.ggml.tokens", {"a", "b"});
    const auto b = w.bytes();
    try {
        (void)make(b);
        FAIL();
    } catch (const sluice::error& e) {
        EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.merges"), std::string::npos) << e.what();
    }
}

// With the real vocabularies: byte-level BPE pieces reassemble every fixture string.
class bpe_lossless : public ::testing::TestWithParam<std::string> {};

TEST_P(bpe_lossless, pieces_reassemble_fixture_strings) {
    SLUICE_SHARED_PATH_OR_SKIP(gguf, "vocab/ggml-vocab-" + GetParam() + ".gguf");
    const auto file = sluice::model::gguf_file::open(gguf.string());
    const auto tok = tokenizer::from_gguf(file);
    for (const auto& s : sluice::test::read_vocab_inputs(gguf.string() + ".inp")) {
        std::string joined;
        for (auto t : tok.tokenize(s, false, false)) joined += tok.piece(t);
        EXPECT_EQ(joined, s) << GetParam() << ": '" << sluice::test::escape(s) << "'";
    }
}

INSTANTIATE_TEST_SUITE_P(shared, bpe_lossless, ::testing::Values("llama-bpe", "qwen2", "gpt-2", "starcoder"));

TEST(spm_detokenize, llama_spm_round_trips_fixture_strings) {
    SLUICE_SHARED_PATH_OR_SKIP(gguf, "vocab/ggml-vocab-llama-spm.gguf");
    const auto file = sluice::model::gguf_file::open(gguf.string());
    const auto tok = tokenizer::from_gguf(file);
    for (const auto& s : sluice::test::read_vocab_inputs(gguf.string() + ".inp")) {
        EXPECT_EQ(tok.detokenize(tok.tokenize(s, false, false), false, false), s) << "'" << sluice::test::escape(s) << "'";
    }
}

}  // namespace
