// The prompt ids llama-server produced for every completion in ../shared/reference and
// ../shared/reference/families (every vocabulary, whether or not its architecture runs):
// `prompt_tokens_with_special` (BOS/EOS per metadata, special-token text parsed) and
// `prompt_tokens_without_special` (the same text, nothing added); and the way back, the
// prompt from its ids.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>

#include "sluice/engine/tokenizer.hpp"
#include "sluice/util/utf8.hpp"
#include "support/fixtures.hpp"

namespace {

namespace json = boost::json;

std::vector<int> ids_of(const json::value& v) {
    std::vector<int> out;
    for (const auto& x : v.as_array()) out.push_back(static_cast<int>(x.to_number<std::int64_t>()));
    return out;
}

class reference_prompts : public ::testing::TestWithParam<std::string> {};

TEST_P(reference_prompts, token_ids_match_llama_server) {
    SLUICE_SHARED_PATH_OR_SKIP(ref, "reference/" + GetParam() + ".json");
    const auto doc = json::parse(sluice::test::read_file(ref)).as_object();
    SLUICE_SHARED_PATH_OR_SKIP(model_path, "models/" + std::string(doc.at("model").as_string()));
    const auto file = sluice::model::gguf_file::open(model_path.string());
    const auto tok = sluice::engine::tokenizer::from_gguf(file);
    const auto& completions = doc.at("completions").as_array();
    ASSERT_FALSE(completions.empty());
    for (std::size_t i = 0; i < completions.size(); ++i) {
        const auto& c = completions[i].as_object();
        const std::string prompt(c.at("prompt").as_string());
        const auto with = tok.tokenize(prompt, true, true);
        const auto without = tok.tokenize(prompt, false, true);
        const std::vector<int> with_i(with.begin(), with.end()), without_i(without.begin(), without.end());
        EXPECT_EQ(with_i, ids_of(c.at("prompt_tokens_with_special")))
            << GetParam() << " prompt " << i << " '" << sluice::test::escape(prompt) << "' (with special)";
        EXPECT_EQ(without_i, ids_of(c.at("prompt_tokens_without_special")))
            << GetParam() << " prompt " << i << " '" << sluice::test::escape(prompt) << "' (without special)";
        EXPECT_EQ(tok.detokenize(without, false, true), prompt)
            << GetParam() << " prompt " << i << " '" << sluice::test::escape(prompt) << "' (detokenized)";
    }
}

// llama-server's `completion_text` is the concatenated pieces of `completion_tokens` (control
// tokens give nothing), which checks pieces across each vocabulary, byte tokens included.
// Random weights emit stray byte tokens, which the server's JSON shows as U+FFFD (grouped its
// own way, an unfinished last character dropped): the comparison leaves out U+FFFD on both
// sides and so checks every valid character and its place.
std::string without_replacements(const std::string& s) {
    std::string out;
    const std::string fffd = "\xEF\xBF\xBD";
    for (std::size_t pos = 0; pos < s.size();) {
        if (s.compare(pos, fffd.size(), fffd) == 0) {
            pos += fffd.size();
        } else {
            out += s[pos++];
        }
    }
    return out;
}

TEST_P(reference_prompts, completion_pieces_match_llama_server_text) {
    SLUICE_SHARED_PATH_OR_SKIP(ref, "reference/" + GetParam() + ".json");
    const auto doc = json::parse(sluice::test::read_file(ref)).as_object();
    SLUICE_SHARED_PATH_OR_SKIP(model_path, "models/" + std::string(doc.at("model").as_string()));
    const auto file = sluice::model::gguf_file::open(model_path.string());
    const auto tok = sluice::engine::tokenizer::from_gguf(file);
    const auto& completions = doc.at("completions").as_array();
    ASSERT_FALSE(completions.empty());
    for (std::size_t i = 0; i < completions.size(); ++i) {
        const auto& c = completions[i].as_object();
        std::string text;
        for (const int id : ids_of(c.at("completion_tokens"))) text += tok.token_to_piece(id, false);
        EXPECT_EQ(without_replacements(sluice::utf8::sanitize(text)), without_replacements(std::string(c.at("completion_text").as_string())))
            << GetParam() << " completion " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(shared, reference_prompts, ::testing::ValuesIn(sluice::test::tokenizer_reference_stems()),
                         sluice::test::param_name());

}  // namespace
