// OpenAI Responses bodies: decoding, and items -> canonical messages.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sluice/api/api_error.hpp"
#include "sluice/api/responses_request.hpp"

namespace {

namespace json = boost::json;
using namespace sluice::api;

api_error error_of(const std::string& body) {
    try {
        (void)parse_responses_request(body);
    } catch (const api_error& e) {
        return e;
    }
    return {0, "", ""};
}

TEST(responses_request, fields_map_onto_the_canonical_request) {
    const auto r = parse_responses_request(R"({"model": "m", "input": "hi", "instructions": "Be brief.",
        "max_output_tokens": 50, "temperature": 0.3, "store": false, "metadata": {"k": "v"},
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
                  {"type": "web_search"}],
        "tool_choice": {"type": "function", "name": "get_weather"}, "parallel_tool_calls": false,
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": true}},
        "reasoning": {"effort": "low"}, "include": ["reasoning.encrypted_content"], "prompt_cache_key": "x"})");
    EXPECT_EQ(r.input.size(), 1u);
    EXPECT_EQ(r.input[0].at("type"), "message");
    EXPECT_EQ(r.instructions, "Be brief.");
    EXPECT_FALSE(r.store);
    EXPECT_EQ(*r.canonical.max_tokens, 50);
    ASSERT_EQ(r.canonical.tools.size(), 1u);
    EXPECT_EQ(r.canonical.ignored_fields, std::vector<std::string>{"tools[1] (web_search)"});
    EXPECT_EQ(r.canonical.tool_choice.mode, sluice::tools::choice_mode::named);
    EXPECT_FALSE(r.canonical.parallel_tool_calls);
    EXPECT_EQ(r.canonical.constraint.type, constraint_spec::kind::json_schema);
    EXPECT_EQ(r.canonical.reasoning_effort, "low");
    EXPECT_EQ(r.canonical.template_kwargs.at("enable_thinking"), true);
    EXPECT_EQ(r.echo.at("tools").as_array().size(), 1u);
}

TEST(responses_request, errors_name_the_field) {
    EXPECT_EQ(error_of(R"({"model": "m"})").param, "input");
    EXPECT_EQ(error_of(R"({"model": "m", "input": [{"role": "robot", "content": "x"}]})").param, "input[0].role");
    EXPECT_EQ(error_of(R"({"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]})").param, "input[0].call_id");
    EXPECT_EQ(error_of(R"({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]})").code,
              "unsupported_parameter");
    EXPECT_EQ(error_of(R"({"model": "m", "input": "x", "tool_choice": "required"})").param, "tool_choice");
    EXPECT_EQ(error_of(R"({"model": "m", "input": "x", "background": true})").code, "unsupported_parameter");
    EXPECT_EQ(error_of(R"({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "a b", "schema": {}}}})").param,
              "text.format.json_schema.name");
    // A continuation may come without new input.
    EXPECT_NO_THROW((void)parse_responses_request(R"({"model": "m", "previous_response_id": "resp_1"})"));
}

TEST(responses_request, items_become_messages) {
    const auto history = json::parse(R"([
        {"type": "message", "role": "user", "content": "weather?"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "content": [{"type": "reasoning_text", "text": "call it"}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
        {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}])").as_array();
    const auto input = json::parse(R"([
        {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "21C"}]},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "short"}]}])").as_array();
    const auto m = items_to_messages(history, input, "Be brief.");
    ASSERT_EQ(m.size(), 6u);
    EXPECT_EQ(m[0].at("role"), "system");
    EXPECT_EQ(m[1].at("role"), "user");
    EXPECT_EQ(m[2].at("role"), "assistant");
    EXPECT_EQ(m[2].at("reasoning_content"), "call it");
    EXPECT_EQ(m[2].at("tool_calls").as_array().size(), 2u);  // both calls in one assistant turn
    EXPECT_EQ(m[3].at("role"), "tool");
    EXPECT_EQ(m[3].at("tool_call_id"), "call_1");
    EXPECT_EQ(m[4].at("content"), "21C");
    EXPECT_EQ(m[5].at("role"), "system");
    EXPECT_THROW((void)items_to_messages({}, {}, ""), api_error);
}

}  // namespace
