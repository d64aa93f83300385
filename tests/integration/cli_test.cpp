// The `sluice` executable end to end: tokenize and inspect on the shared models,
// and clean failures on bad input.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/fixtures.hpp"
#include "support/run_process.hpp"

namespace {

namespace json = boost::json;
using sluice::test::run_process;
using sluice::test::shell_quote;

std::string sluice_cmd(const std::string& args) { return shell_quote(SLUICE_BINARY) + " " + args; }

std::string ids_line(const json::value& v) {
    std::vector<std::int64_t> ids;
    for (const auto& x : v.as_array()) ids.push_back(x.to_number<std::int64_t>());
    return sluice::test::join(ids) + "\n";
}

class cli_reference : public ::testing::TestWithParam<std::string> {};

TEST_P(cli_reference, tokenize_modes_match_llama_server) {
    SLUICE_SHARED_PATH_OR_SKIP(ref, "reference/" + GetParam() + ".json");
    const auto doc = json::parse(sluice::test::read_file(ref)).as_object();
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/" + std::string(doc.at("model").as_string()));
    for (const auto& cv : doc.at("completions").as_array()) {
        const auto& c = cv.as_object();
        const std::string prompt(c.at("prompt").as_string());
        const auto with = run_process(sluice_cmd("tokenize -m " + shell_quote(model.string())), prompt);
        ASSERT_EQ(with.status, 0) << with.err;
        EXPECT_EQ(with.out, ids_line(c.at("prompt_tokens_with_special"))) << sluice::test::escape(prompt);
        const auto without = run_process(sluice_cmd("tokenize --no-add-special -m " + shell_quote(model.string())), prompt);
        EXPECT_EQ(without.out, ids_line(c.at("prompt_tokens_without_special"))) << sluice::test::escape(prompt);
    }
}

INSTANTIATE_TEST_SUITE_P(shared, cli_reference, ::testing::Values("stories260K", "smollm2-Q8_0", "qwen2-Q4_K_M", "llama3-Q6_K"),
                         sluice::test::param_name());

class cli_vocab : public ::testing::TestWithParam<std::string> {};

TEST_P(cli_vocab, raw_mode_matches_fixture_ids) {
    SLUICE_SHARED_PATH_OR_SKIP(gguf, "vocab/ggml-vocab-" + GetParam() + ".gguf");
    const auto inputs = sluice::test::read_vocab_inputs(gguf.string() + ".inp");
    const auto outputs = sluice::test::read_vocab_outputs(gguf.string() + ".out");
    ASSERT_EQ(inputs.size(), outputs.size());
    for (std::size_t i = 0; i < inputs.size(); i += 5) {  // every fifth string keeps the test quick
        const auto r = run_process(sluice_cmd("tokenize --raw -m " + shell_quote(gguf.string())), inputs[i]);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.out, sluice::test::join(outputs[i]) + "\n") << GetParam() << " string " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(shared, cli_vocab, ::testing::Values("llama-spm", "qwen2", "bert-bge"), sluice::test::param_name());

TEST(cli_inspect, describes_a_model_as_json) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/qwen2-Q4_K_M.gguf");
    const auto r = run_process(sluice_cmd("inspect --json " + shell_quote(model.string())));
    ASSERT_EQ(r.status, 0) << r.err;
    const auto o = json::parse(r.out).as_object();
    EXPECT_EQ(o.at("architecture").as_string(), "qwen2");
    EXPECT_EQ(o.at("tokenizer").at("kind").as_string(), "BPE");
    EXPECT_EQ(o.at("tokenizer").at("vocab_size").to_number<std::int64_t>(), 151936);
    EXPECT_TRUE(o.at("chat_template").as_bool());
    EXPECT_GT(o.at("tensor_count").to_number<std::int64_t>(), 0);
    EXPECT_GT(o.at("parameter_count").to_number<std::int64_t>(), 0);
    EXPECT_TRUE(o.at("tensor_types").as_object().contains("Q4_K"));
    EXPECT_GT(o.at("hyper_parameters").at("block_count").to_number<std::int64_t>(), 0);
}

TEST(cli_inspect, text_output_names_the_essentials) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/stories260K.gguf");
    const auto r = run_process(sluice_cmd("inspect " + shell_quote(model.string())));
    ASSERT_EQ(r.status, 0) << r.err;
    for (const char* s : {"architecture:    llama", "tokenizer:       SPM", "chat template:   no", "F32:"}) {
        EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
    }
}

TEST(cli_inspect, rejects_files_that_are_not_gguf) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto garbage = dir / "sluice-not-a-model.gguf";
    std::ofstream(garbage) << "this is not a model";
    auto r = run_process(sluice_cmd("inspect " + shell_quote(garbage.string())));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("bad magic"), std::string::npos) << r.err;
    r = run_process(sluice_cmd("inspect " + shell_quote((dir / "sluice-missing.gguf").string())));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
}

TEST(cli_inspect, rejects_a_truncated_model) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/stories260K.gguf");
    const auto bytes = sluice::test::read_file(model);
    const auto cut = std::filesystem::temp_directory_path() / "sluice-truncated.gguf";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    const auto r = run_process(sluice_cmd("inspect " + shell_quote(cut.string())));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
}

TEST(cli, usage_errors_exit_2_or_1_with_a_message) {
    auto r = run_process(sluice_cmd("frobnicate"));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown command"), std::string::npos);
    r = run_process(sluice_cmd("tokenize"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("model"), std::string::npos) << r.err;
    r = run_process(sluice_cmd("--help"));
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("tokenize"), std::string::npos);
}

}  // namespace
