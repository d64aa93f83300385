// Anthropic Messages bodies decoded into the canonical request.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sluice/api/api_error.hpp"
#include "sluice/api/messages_request.hpp"

namespace {

namespace json = boost::json;
using sluice::api::parse_messages_request;

sluice::api::api_error error_of(const std::string& body) {
    try {
        (void)parse_messages_request(body);
    } catch (const sluice::api::api_error& e) {
        return e;
    }
    return {0, "", ""};
}

TEST(messages_request, a_tool_use_round_trip_becomes_canonical_messages) {
    const auto r = parse_messages_request(R"({"model": "m", "max_tokens": 64,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
          {"role": "user", "content": "Weather in Paris?"},
          {"role": "assistant", "content": [
             {"type": "thinking", "thinking": "Need the tool.", "signature": "x"},
             {"type": "text", "text": "Checking."},
             {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
          {"role": "user", "content": [
             {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
             {"type": "text", "text": "And tomorrow?"}]}],
        "tools": [{"name": "get_weather", "description": "d", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "stop_sequences": ["END"], "temperature": 0.5, "top_k": 40, "stream": true,
        "metadata": {"user_id": "u"}, "context_management": {"edits": []}})");
    ASSERT_EQ(r.messages.size(), 5u);
    EXPECT_EQ(r.messages[0].at("role"), "system");
    EXPECT_EQ(r.messages[0].at("content"), "Be brief.");
    EXPECT_EQ(r.messages[2].at("content"), "Checking.");
    EXPECT_EQ(r.messages[2].at("reasoning_content"), "Need the tool.");
    const auto& call = r.messages[2].at("tool_calls").at(0);
    EXPECT_EQ(call.at("id"), "toolu_1");
    EXPECT_EQ(json::parse(call.at("function").at("arguments").as_string()), json::parse(R"({"city":"Paris"})"));
    EXPECT_EQ(r.messages[3].at("role"), "tool");
    EXPECT_EQ(r.messages[3].at("tool_call_id"), "toolu_1");
    EXPECT_EQ(r.messages[3].at("content"), "18C");
    EXPECT_EQ(r.messages[4].at("role"), "user");
    EXPECT_EQ(r.tool_choice.mode, sluice::tools::choice_mode::required);
    EXPECT_FALSE(r.parallel_tool_calls);
    EXPECT_EQ(r.template_kwargs.at("enable_thinking"), true);
    EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
    EXPECT_EQ(*r.max_tokens, 64);
    EXPECT_TRUE(r.stream);
    EXPECT_TRUE(r.ignored_fields.empty());
}

TEST(messages_request, defaults_and_errors_name_the_field) {
    const auto plain = parse_messages_request(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})");
    EXPECT_EQ(plain.tool_choice.mode, sluice::tools::choice_mode::none);
    EXPECT_FALSE(plain.template_kwargs.contains("enable_thinking"));
    EXPECT_EQ(error_of(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})").param, "max_tokens");
    EXPECT_NO_THROW((void)parse_messages_request(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})", {}, true));
    EXPECT_EQ(error_of(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "robot", "content": "hi"}]})").param, "messages[0].role");
    // Claude Code sends its environment as a system message inside messages.
    EXPECT_EQ(parse_messages_request(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"},
        {"role": "system", "content": [{"type": "text", "text": "env"}]}]})").messages[1].at("role"), "system");
    EXPECT_EQ(error_of(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]})").code,
              "unsupported_parameter");
    EXPECT_EQ(error_of(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "temperature": 1.5})").param, "temperature");
    EXPECT_EQ(error_of(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "any"}})").param,
              "tool_choice");
    EXPECT_EQ(error_of(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}]})").code, "unsupported_parameter");
    EXPECT_EQ(error_of(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
        "tools": [{"name": "t"}]})").param, "tools[0].input_schema");
    const auto unknown = parse_messages_request(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "new_field": 1})");
    EXPECT_EQ(unknown.ignored_fields, std::vector<std::string>{"new_field"});
}

TEST(messages_request, anthropic_error_envelope) {
    const auto e = sluice::api::invalid_request("bad", "x");
    const auto body = json::parse(e.anthropic_body());
    EXPECT_EQ(body.at("type"), "error");
    EXPECT_EQ(body.at("error").at("type"), "invalid_request_error");
    EXPECT_EQ(body.at("error").at("message"), "bad");
    EXPECT_EQ(json::parse(sluice::api::unavailable("busy").anthropic_body()).at("error").at("type"), "overloaded_error");
    EXPECT_EQ(json::parse(sluice::api::unauthorized("no").anthropic_body()).at("error").at("type"), "authentication_error");
}

}  // namespace
