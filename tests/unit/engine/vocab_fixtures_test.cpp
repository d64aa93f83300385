// Every string of every ../shared/vocab fixture tokenizes (no BOS/EOS, special-token
// text not parsed) to exactly the ids llama.cpp's fixture lists.
#include <gtest/gtest.h>

#include <algorithm>

#include "sluice/engine/tokenizer.hpp"
#include "support/fixtures.hpp"

namespace {


class vocab_fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(vocab_fixture, matches_reference_ids) {
    SLUICE_SHARED_PATH_OR_SKIP(gguf, "vocab/" + GetParam() + ".gguf");
    const auto file = sluice::model::gguf_file::open(gguf.string());
    const auto tok = sluice::engine::tokenizer::from_gguf(file);
    const auto inputs = sluice::test::read_vocab_inputs(gguf.string() + ".inp");
    const auto outputs = sluice::test::read_vocab_outputs(gguf.string() + ".out");
    ASSERT_FALSE(inputs.empty());
    ASSERT_EQ(inputs.size(), outputs.size()) << "fixture .inp and .out disagree in length";
    int failures = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto got = tok.tokenize(inputs[i], false, false);
        const std::vector<int> got_int(got.begin(), got.end());
        if (got_int != outputs[i]) {
            ++failures;
            ADD_FAILURE() << GetParam() << " string " << i << " '" << sluice::test::escape(inputs[i]) << "'\n  expected: "
                          << sluice::test::join(outputs[i]) << "\n  got:      " << sluice::test::join(got_int);
        }
    }
    EXPECT_EQ(failures, 0) << GetParam() << ": " << failures << " of " << inputs.size() << " strings differ";
}

INSTANTIATE_TEST_SUITE_P(shared, vocab_fixture, ::testing::ValuesIn(sluice::test::shared_stems("vocab", ".gguf")),
                         sluice::test::param_name());

}  // namespace
