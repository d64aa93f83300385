// The `sluice` executable end to end: tokenize and inspect on the shared models,
// and clean failures on bad input.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/fixtures.hpp"
#include "support/run_process.hpp"
#include "sluice/util/utf8.hpp"

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

// gemma4: `sluice tokenize` works on a model whose architecture `run` refuses (and qwen35,
// which `run` supports too: cli_run.qwen35_greedy_matches_the_reference).
INSTANTIATE_TEST_SUITE_P(shared, cli_reference,
                         ::testing::Values("stories260K", "smollm2-Q8_0", "qwen2-Q4_K_M", "llama3-Q6_K", "families/gemma4-Q4_0",
                                           "families/qwen35-Q8_0"),
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

TEST(cli_run, json_greedy_matches_the_reference_and_streaming_matches_json) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/stories260K.gguf");
    SLUICE_SHARED_PATH_OR_SKIP(ref, "reference/stories260K.json");
    const auto doc = json::parse(sluice::test::read_file(ref)).as_object();
    const auto& c = doc.at("completions").as_array()[0].as_object();
    const std::string prompt(c.at("prompt").as_string());
    const std::string base = "run -m " + shell_quote(model.string()) + " -p " + shell_quote(prompt) + " -n 32 --temp 0";
    const auto r = run_process(sluice_cmd(base + " --json --top-logprobs 3"));
    ASSERT_EQ(r.status, 0) << r.err;
    const auto o = json::parse(r.out).as_object();
    EXPECT_EQ(ids_line(o.at("completion_tokens")), ids_line(c.at("completion_tokens")));
    EXPECT_EQ(o.at("completion_text").as_string(), c.at("completion_text").as_string());
    EXPECT_EQ(ids_line(o.at("prompt_tokens")), ids_line(c.at("prompt_tokens_with_special")));
    const auto& tops = o.at("top_logprobs").as_array();
    ASSERT_EQ(tops.size(), o.at("completion_tokens").as_array().size());
    EXPECT_EQ(tops[0].as_array().size(), 3u);
    EXPECT_GT(o.at("timings").at("generation_tokens_per_second").as_double(), 0.0);
    const auto streamed = run_process(sluice_cmd(base));
    ASSERT_EQ(streamed.status, 0) << streamed.err;
    EXPECT_EQ(streamed.out, std::string(o.at("completion_text").as_string()) + "\n");
    EXPECT_NE(streamed.err.find("tokens/s"), std::string::npos) << streamed.err;
}

// qwen35 (gated DeltaNet + gated attention) through `sluice run`: greedy tokens equal
// llama.cpp's up to the first near tie (margin below 1.25, the README's rule for 8-bit files).
TEST(cli_run, qwen35_greedy_matches_the_reference) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/qwen35-Q8_0.gguf");
    SLUICE_SHARED_PATH_OR_SKIP(ref, "reference/families/qwen35-Q8_0.json");
    const auto doc = json::parse(sluice::test::read_file(ref)).as_object();
    for (const std::size_t i : {0u, 2u}) {
        const auto& c = doc.at("completions").as_array()[i].as_object();
        const auto r = run_process(sluice_cmd("run -m " + shell_quote(model.string()) + " -p " +
                                              shell_quote(std::string(c.at("prompt").as_string())) + " -n 32 --temp 0 --json"));
        ASSERT_EQ(r.status, 0) << r.err;
        const auto o = json::parse(r.out).as_object();
        EXPECT_EQ(ids_line(o.at("prompt_tokens")), ids_line(c.at("prompt_tokens_with_special")));
        const auto& got = o.at("completion_tokens").as_array();
        const auto& want = c.at("completion_tokens").as_array();
        const auto& tops = c.at("top_logprobs").as_array();
        for (std::size_t t = 0; t < want.size() && t < tops.size(); ++t) {
            const auto& top = tops[t].as_array();
            if (top.size() > 1 && top[0].at("logprob").to_number<double>() - top[1].at("logprob").to_number<double>() < 1.25) break;
            ASSERT_LT(t, got.size());
            ASSERT_EQ(got[t].to_number<std::int64_t>(), want[t].to_number<std::int64_t>()) << "completion " << i << " token " << t;
        }
    }
}

// Byte-fallback tokens that do not form whole characters: --json still prints valid
// UTF-8 (U+FFFD in completion_text; the raw bytes in completion_bytes). These seeds make
// the synthetic model write such bytes; the strict parse below refuses invalid UTF-8.
TEST(cli_run, json_is_valid_utf8_when_the_model_writes_broken_bytes) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/qfix-Q4_0.gguf");
    bool saw_broken = false;
    for (const char* seed : {"1", "2", "3"}) {
        const auto r = run_process(sluice_cmd("run -m " + shell_quote(model.string()) +
                                              " -p 'Once upon a time' -n 48 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --json --seed " + seed));
        ASSERT_EQ(r.status, 0) << r.err;
        json::error_code ec;
        const auto v = json::parse(r.out, ec);  // Boost.JSON refuses invalid UTF-8
        ASSERT_FALSE(ec) << "seed " << seed << ": " << ec.message();
        std::string bytes;
        for (const auto& b : v.at("completion_bytes").as_array()) bytes += static_cast<char>(b.to_number<int>());
        saw_broken = saw_broken || !sluice::utf8::is_valid(bytes);
        EXPECT_EQ(v.at("completion_text").as_string(), sluice::utf8::sanitize(bytes)) << "seed " << seed;
    }
    EXPECT_TRUE(saw_broken) << "no seed produced broken UTF-8: the test no longer exercises the case";
}

TEST(cli_run, a_seed_makes_sampling_repeatable) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/stories260K.gguf");
    const std::string cmd = "run -m " + shell_quote(model.string()) + " -p 'Once upon a time' -n 24 --temp 1.0 --json --seed ";
    const auto a = run_process(sluice_cmd(cmd + "42")), b = run_process(sluice_cmd(cmd + "42")), c = run_process(sluice_cmd(cmd + "7"));
    ASSERT_EQ(a.status, 0) << a.err;
    const auto ta = json::parse(a.out).at("completion_tokens"), tb = json::parse(b.out).at("completion_tokens");
    EXPECT_EQ(ids_line(ta), ids_line(tb));
    EXPECT_NE(ids_line(ta), ids_line(json::parse(c.out).at("completion_tokens")));
}

// --spec-type ngram-simple through the binary: the same completion (greedy and seeded),
// drafts reported, some accepted; an unknown type is refused.
TEST(cli_run, speculation_leaves_the_completion_unchanged) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/stories260K.gguf");
    const std::string passage = "Lily had a red ball. She liked to play with the ball in the park. ";
    const std::string cmd = "run -m " + shell_quote(model.string()) + " -p " + shell_quote(passage + passage + "Lily had") +
                            " -n 120 --ignore-eos --json ";
    for (const std::string sampling : {"--temp 0", "--temp 0.8 --seed 5"}) {
        const auto plain = run_process(sluice_cmd(cmd + sampling));
        const auto spec = run_process(sluice_cmd(cmd + sampling + " --spec-type ngram-simple --spec-ngram-simple-size-n 2"));
        ASSERT_EQ(plain.status, 0) << plain.err;
        ASSERT_EQ(spec.status, 0) << spec.err;
        const auto p = json::parse(plain.out), s = json::parse(spec.out);
        EXPECT_EQ(ids_line(p.at("completion_tokens")), ids_line(s.at("completion_tokens"))) << sampling;
        EXPECT_EQ(p.at("draft_tokens").to_number<std::int64_t>(), 0);
        EXPECT_GT(s.at("draft_tokens_accepted").to_number<std::int64_t>(), 0) << sampling;
    }
    const auto bad = run_process(sluice_cmd(cmd + "--spec-type draft-model"));
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.err.find("--spec-type"), std::string::npos) << bad.err;
}

// --model-draft (-md) through the binary: the same completion (greedy and seeded) with a
// draft model (the model itself: every greedy draft accepted); a draft with another
// vocabulary, a missing file, or both drafters at once are refused with the reason.
TEST(cli_run, a_draft_model_leaves_the_completion_unchanged) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/stories260K.gguf");
    SLUICE_SHARED_PATH_OR_SKIP(other, "models/llama3-Q6_K.gguf");
    const std::string passage = "Lily had a red ball. She liked to play with the ball in the park. ";
    const std::string cmd = "run -m " + shell_quote(model.string()) + " -p " + shell_quote(passage + passage + "Lily had") +
                            " -n 100 --ignore-eos --json ";
    for (const std::string sampling : {"--temp 0", "--temp 0.8 --seed 5"}) {
        const auto plain = run_process(sluice_cmd(cmd + sampling));
        const auto spec = run_process(sluice_cmd(cmd + sampling + " -md " + shell_quote(model.string()) + " --draft-max 5 --draft-p-min 0"));
        ASSERT_EQ(plain.status, 0) << plain.err;
        ASSERT_EQ(spec.status, 0) << spec.err;
        const auto p = json::parse(plain.out), s = json::parse(spec.out);
        EXPECT_EQ(ids_line(p.at("completion_tokens")), ids_line(s.at("completion_tokens"))) << sampling;
        EXPECT_GT(s.at("draft_tokens_accepted").to_number<std::int64_t>(), 0) << sampling;
        if (sampling == "--temp 0") {
            EXPECT_EQ(s.at("draft_tokens_accepted"), s.at("draft_tokens"));
        }
    }
    const auto foreign = run_process(sluice_cmd(cmd + "--model-draft " + shell_quote(other.string())));
    EXPECT_NE(foreign.status, 0);
    EXPECT_NE(foreign.err.find("vocabulary is not the target model's"), std::string::npos) << foreign.err;
    const auto missing = run_process(sluice_cmd(cmd + "--model-draft /nonexistent/draft.gguf"));
    EXPECT_NE(missing.status, 0);
    EXPECT_NE(missing.err.find("/nonexistent/draft.gguf"), std::string::npos) << missing.err;
    const auto both = run_process(sluice_cmd(cmd + "-md " + shell_quote(model.string()) + " --spec-type ngram-simple"));
    EXPECT_NE(both.status, 0);
    EXPECT_NE(both.err.find("alternatives"), std::string::npos) << both.err;
}

TEST(cli_score, teacher_forced_top1_matches_the_reference) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/smollm2-Q8_0.gguf");
    SLUICE_SHARED_PATH_OR_SKIP(ref, "reference/smollm2-Q8_0.json");
    const auto doc = json::parse(sluice::test::read_file(ref)).as_object();
    const auto& c = doc.at("completions").as_array()[2].as_object();
    std::string ids = ids_line(c.at("prompt_tokens_with_special"));
    ids.pop_back();
    const std::size_t n_prompt = c.at("prompt_tokens_with_special").as_array().size();
    const auto r = run_process(sluice_cmd("score -m " + shell_quote(model.string()) + " --top-logprobs 4 --ids " + shell_quote(ids)));
    ASSERT_EQ(r.status, 0) << r.err;
    const auto out = json::parse(r.out);
    const auto& tops = out.at("top_logprobs").as_array();
    ASSERT_EQ(tops.size(), n_prompt);
    EXPECT_EQ(tops.back().as_array().size(), 4u);
    EXPECT_EQ(tops.back().as_array()[0].at("id").to_number<std::int64_t>(),
              c.at("top_logprobs").as_array()[0].as_array()[0].at("id").to_number<std::int64_t>());
}

TEST(cli_run, bad_input_fails_cleanly) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/stories260K.gguf");
    SLUICE_SHARED_PATH_OR_SKIP(vocab, "vocab/ggml-vocab-llama-spm.gguf");
    auto r = run_process(sluice_cmd("run -m " + shell_quote(model.string()) + " --ctx-size 8 -p 'Once upon a time there was a dog and a cat'"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("does not fit the context size of 8"), std::string::npos) << r.err;
    r = run_process(sluice_cmd("run -m " + shell_quote(vocab.string()) + " -p hi"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("missing tensor 'token_embd.weight'"), std::string::npos) << r.err;
    r = run_process(sluice_cmd("score -m " + shell_quote(model.string()) + " --ids '1 2 x'"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("'x' is not a token id"), std::string::npos) << r.err;
    r = run_process(sluice_cmd("score -m " + shell_quote(model.string()) + " --ids '1 99999'"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("outside the vocabulary"), std::string::npos) << r.err;
}

class cli_template : public ::testing::TestWithParam<std::string> {};

// `sluice template --template FILE --context CONTEXT.json` prints exactly the expected
// rendering of every case (no added newline), and exits 1 where the template raises.
TEST_P(cli_template, renders_fixture_cases_exactly) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "templates/" + GetParam() + ".json");
    const auto doc = json::parse(sluice::test::read_file(path)).as_object();
    const auto ctx_path = std::filesystem::temp_directory_path() / ("sluice-ctx-" + std::to_string(::getpid()) + ".json");
    for (const auto& cv : doc.at("cases").as_array()) {
        const auto& c = cv.as_object();
        std::ofstream(ctx_path) << json::serialize(c.at("context"));
        const auto r = run_process(sluice_cmd("template --date 2024-07-26 --template " + shell_quote(path.string()) +
                                              " --context " + shell_quote(ctx_path.string())));
        if (c.contains("error")) {
            EXPECT_EQ(r.status, 1) << c.at("name").as_string();
            EXPECT_NE(r.err.find("template error"), std::string::npos) << r.err;
        } else {
            EXPECT_EQ(r.status, 0) << c.at("name").as_string() << ": " << r.err;
            EXPECT_EQ(r.out, c.at("expected").as_string()) << c.at("name").as_string();
        }
    }
}

INSTANTIATE_TEST_SUITE_P(shared, cli_template,
                         ::testing::Values("Qwen-Qwen3-0.6B", "meta-llama-Llama-3.1-8B-Instruct", "mistralai-Mistral-Nemo-Instruct-2407"),
                         sluice::test::param_name());

TEST(cli_template, renders_a_models_template_without_doubling_bos) {
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/llama3-Q6_K.gguf");
    const auto ctx_path = std::filesystem::temp_directory_path() / "sluice-ctx-model.json";
    std::ofstream(ctx_path) << R"({"messages": [{"role": "user", "content": "Hello!"}], "add_generation_prompt": true})";
    const auto r = run_process(sluice_cmd("template --date 2026-11-22 -m " + shell_quote(model.string()) + " --context " + shell_quote(ctx_path.string())));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.rfind("<|start_header_id|>system", 0), 0u) << r.out;  // no leading <|begin_of_text|>
    EXPECT_NE(r.out.find("Today Date: 22 Nov 2026"), std::string::npos) << r.out;
}

// The chats llama-server rendered for the newest families, through `template -m`, which
// needs only the vocabulary and template (works while `run` refuses the architecture).
// llama-server renders with thinking on, so the context says so.
class cli_model_template : public ::testing::TestWithParam<std::string> {};

TEST_P(cli_model_template, renders_reference_chats_exactly) {
    SLUICE_SHARED_PATH_OR_SKIP(ref, "reference/" + GetParam() + ".json");
    const auto doc = json::parse(sluice::test::read_file(ref)).as_object();
    SLUICE_SHARED_PATH_OR_SKIP(model, "models/" + std::string(doc.at("model").as_string()));
    const auto ctx_path = std::filesystem::temp_directory_path() / ("sluice-ctx-ref-" + std::to_string(::getpid()) + ".json");
    const auto& renderings = doc.at("chat_renderings").as_array();
    ASSERT_FALSE(renderings.empty());
    for (const auto& rv : renderings) {
        const auto& r = rv.as_object();
        json::object ctx{{"messages", r.at("messages")}, {"add_generation_prompt", true}, {"enable_thinking", true}};
        std::ofstream(ctx_path) << json::serialize(ctx);
        const auto out = run_process(sluice_cmd("template --date 2026-11-21 -m " + shell_quote(model.string()) +
                                                " --context " + shell_quote(ctx_path.string())));
        ASSERT_EQ(out.status, 0) << out.err;
        EXPECT_EQ(out.out, r.at("prompt").as_string()) << GetParam();
    }
}

INSTANTIATE_TEST_SUITE_P(shared, cli_model_template, ::testing::Values("families/gemma4-Q4_0", "families/qwen35-Q8_0"),
                         sluice::test::param_name());

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
