// Rendering models' own templates as the server will: compared with the renderings
// llama-server produced (../shared/reference/*.json chat_renderings), BOS not doubled.
#include "sluice/chat/chat_template.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sluice/engine/tokenizer.hpp"
#include "support/fixtures.hpp"
#include "support/tiny_vocabs.hpp"

namespace {

namespace json = boost::json;
using namespace sluice;

// The day the references were rendered (their Llama 3.1 system prompts say so).
chat::render_options reference_day() {
    chat::render_options o;
    std::tm t{};
    t.tm_year = 2026 - 1900;
    t.tm_mon = 10;
    t.tm_mday = 22;
    t.tm_hour = 12;
    o.fixed_time = t;
    return o;
}

class model_template : public ::testing::TestWithParam<std::string> {};

TEST_P(model_template, matches_llama_server_renderings) {
    SLUICE_SHARED_PATH_OR_SKIP(ref, "reference/" + GetParam() + ".json");
    const auto doc = json::parse(test::read_file(ref)).as_object();
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/" + std::string(doc.at("model").as_string()));
    const auto& renderings = doc.at("chat_renderings").as_array();
    ASSERT_FALSE(renderings.empty());
    const auto file = model::gguf_file::open(path.string());
    const auto vocab = engine::vocab::from_gguf(file);
    const auto tmpl = chat::chat_template::for_model(file, vocab);
    EXPECT_FALSE(tmpl.is_fallback());
    for (const auto& rv : renderings) {
        const auto& r = rv.as_object();
        json::object vars;
        for (const auto& kv : r) {
            if (kv.key() != "prompt") vars[kv.key()] = kv.value();
        }
        if (!vars.contains("add_generation_prompt")) vars["add_generation_prompt"] = true;
        // llama-server's default: thinking on (Gemma 4 then opens with <|think|>, Qwen 3.5's
        // generation prompt with <think>); the older templates do not read it.
        if (!vars.contains("enable_thinking")) vars["enable_thinking"] = true;
        EXPECT_EQ(tmpl.render(vars, reference_day()), r.at("prompt").as_string()) << GetParam() << ": " << json::serialize(vars);
    }
}

INSTANTIATE_TEST_SUITE_P(shared, model_template,
                         ::testing::Values("smollm2-Q8_0", "qwen2-Q4_K_M", "qwen3-Q4_0", "llama3-Q6_K", "families/qwen3moe-Q8_0",
                                           "families/qwen3moe-Q4_K_M", "families/gemma3-Q8_0", "families/gemma4-Q4_0",
                                           "families/qwen35-Q8_0"),
                         test::param_name());

TEST(chat_template, bos_is_not_doubled_when_the_tokenizer_adds_it) {
    const std::string src = "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}";
    json::object vars{{"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}}};
    const auto adds = chat::chat_template::from_source(src, "<s>", "</s>", true);
    EXPECT_EQ(adds.render(vars), "[user]hi");
    const auto keeps = chat::chat_template::from_source(src, "<s>", "</s>", false);
    EXPECT_EQ(keeps.render(vars), "<s>[user]hi");
}

TEST(chat_template, a_model_without_a_usable_template_falls_back_to_chatml) {
    const auto bytes = test::tiny_bpe_vocab();
    const auto file = model::gguf_file::parse(bytes);
    const auto vocab = engine::vocab::from_gguf(file);
    const auto missing = chat::chat_template::for_model(file, vocab);
    EXPECT_TRUE(missing.is_fallback());
    json::object vars{{"messages", json::array{json::object{{"role", "user"}, {"content", "Hello"}}}},
                      {"add_generation_prompt", true}};
    EXPECT_EQ(missing.render(vars), "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    const auto broken = chat::chat_template::for_model(file, vocab, "{% for x in %}");
    EXPECT_TRUE(broken.is_fallback());
}

TEST(chat_template, extra_variables_reach_the_template) {
    const auto t = chat::chat_template::from_source("{% if enable_thinking is false %}no-think{% else %}think{% endif %}");
    EXPECT_EQ(t.render(json::object{{"enable_thinking", false}}), "no-think");
    EXPECT_EQ(t.render(json::object{}), "think");
}

}  // namespace
