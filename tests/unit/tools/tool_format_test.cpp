// Family detection from the chat templates in ../shared/templates (docs/tools.md's table).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sluice/tools/tool_format.hpp"
#include "support/shared_data.hpp"

namespace {

using sluice::tools::family;

sluice::tools::output_format detect_file(const std::filesystem::path& dir, const std::string& name) {
    const auto doc = boost::json::parse(sluice::test::read_file(dir / (name + ".json")));
    const std::string src(doc.at("source").as_string());
    return sluice::tools::detect_format(src, [](std::string_view) { return false; });
}

TEST(tool_format, families_of_the_shared_templates) {
    SLUICE_SHARED_PATH_OR_SKIP(dir, "templates");
    const std::pair<const char*, family> cases[] = {
        {"Qwen-Qwen2.5-7B-Instruct", family::hermes},
        {"Qwen-Qwen3-0.6B", family::hermes},
        {"Qwen-QwQ-32B", family::hermes},
        {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", family::hermes},
        {"meta-llama-Llama-3.1-8B-Instruct", family::llama3},
        {"meta-llama-Llama-3.2-3B-Instruct", family::llama3},
        {"meta-llama-Llama-3.3-70B-Instruct", family::llama3},
        {"mistralai-Mistral-Nemo-Instruct-2407", family::mistral},
        {"Mistral-Small-3.2-24B-Instruct-2506", family::mistral},
        {"Qwen3.5-4B", family::qwen_xml},
        {"NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", family::qwen_xml},
        {"google-gemma-4-31B-it-interleaved", family::gemma4},
        {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", family::deepseek_r1},
        {"deepseek-ai-DeepSeek-V3.2", family::deepseek_v3},
        {"smollm2-instruct", family::generic},
        {"google-gemma-2-2b-it", family::generic},
        {"GLM-4.7-Flash", family::generic},
    };
    for (const auto& [name, want] : cases) {
        EXPECT_EQ(sluice::tools::family_name(detect_file(dir, name).calls), std::string(sluice::tools::family_name(want))) << name;
    }
}

TEST(tool_format, reasoning_markup_and_argument_shape) {
    SLUICE_SHARED_PATH_OR_SKIP(dir, "templates");
    const auto qwen3 = detect_file(dir, "Qwen-Qwen3-0.6B");
    EXPECT_EQ(qwen3.reasoning, sluice::tools::reasoning_style::tags);
    EXPECT_EQ(qwen3.think_open, "<think>");
    EXPECT_TRUE(qwen3.arguments_as_object);  // it tests "arguments is string", else tojson
    const auto qwen25 = detect_file(dir, "Qwen-Qwen2.5-7B-Instruct");
    EXPECT_EQ(qwen25.reasoning, sluice::tools::reasoning_style::none);
    EXPECT_TRUE(qwen25.arguments_as_object);  // {{ tool_call.arguments | tojson }}
    EXPECT_TRUE(detect_file(dir, "meta-llama-Llama-3.1-8B-Instruct").arguments_as_object);
    EXPECT_TRUE(detect_file(dir, "Qwen3.5-4B").arguments_as_object);  // iterates arguments|items
    EXPECT_FALSE(detect_file(dir, "smollm2-instruct").template_renders_tools);
}

TEST(tool_format, gpt_oss_harmony_without_a_fixture) {
    const auto f = sluice::tools::detect_format("{{ '<|start|>assistant<|channel|>commentary to=functions.' + name }}",
                                                [](std::string_view) { return true; });
    EXPECT_EQ(f.calls, family::harmony);
    EXPECT_EQ(f.reasoning, sluice::tools::reasoning_style::harmony);
}

}  // namespace
