#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "sluice/api/api_error.hpp"
#include "sluice/api/completion_request.hpp"
#include "sluice/api/constraint.hpp"
#include "sluice/api/field_policy.hpp"
#include "sluice/api/json_body.hpp"
#include "sluice/api/sse.hpp"
#include "sluice/api/stop_matcher.hpp"

namespace {

using namespace sluice::api;

// The api_error a chat body produces ("" param when none).
api_error chat_error(const std::string& body) {
    try {
        (void)parse_chat_request(body);
    } catch (const api_error& e) {
        return e;
    }
    return api_error(0, "", "no error");
}

const std::string k_msgs = R"("messages": [{"role": "user", "content": "Hi"}])";

TEST(chat_request, parses_a_full_request) {
    const auto r = parse_chat_request(R"({"model": "m", "messages": [{"role": "system", "content": "Be brief"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
        "max_completion_tokens": 20, "temperature": 0.2, "top_p": 0.9, "top_k": 5, "min_p": 0.1, "seed": -3,
        "presence_penalty": 0.5, "frequency_penalty": -0.5, "stop": ["\n\n", "END"], "logit_bias": {"15": -100},
        "logprobs": true, "top_logprobs": 3, "stream": true, "stream_options": {"include_usage": true},
        "user": "u", "metadata": {"a": "b"}, "n": 1})");
    EXPECT_TRUE(r.chat);
    EXPECT_EQ(r.model, "m");
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[1].at("content"), "a\nb");
    EXPECT_EQ(*r.max_tokens, 20);
    EXPECT_FLOAT_EQ(r.sampling.temperature, 0.2f);
    EXPECT_EQ(r.sampling.top_k, 5);
    EXPECT_TRUE(r.seeded);
    EXPECT_EQ(r.stop.size(), 2u);
    EXPECT_FLOAT_EQ(r.sampling.logit_bias.at(15), -100.0f);
    EXPECT_EQ(r.top_logprobs, 3);
    EXPECT_TRUE(r.stream);
    EXPECT_TRUE(r.include_usage);
}

TEST(chat_request, bad_json_wrong_types_and_ranges_name_the_field) {
    EXPECT_NE(std::string(chat_error("{not json").what()).find("not valid JSON"), std::string::npos);
    EXPECT_EQ(chat_error("[]").status, 400);
    EXPECT_EQ(chat_error("{}").param, "messages");
    EXPECT_EQ(chat_error(R"({"messages": []})").param, "messages");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "temperature": "hot"})").param, "temperature");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "temperature": 2.5})").param, "temperature");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "top_p": -0.1})").param, "top_p");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "max_tokens": 0})").param, "max_tokens");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "max_tokens": 1.5})").param, "max_tokens");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "presence_penalty": 3})").param, "presence_penalty");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "logit_bias": {"x": 1}})").param, "logit_bias");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "logit_bias": {"5": 101}})").param, "logit_bias.5");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "stop": [1]})").param, "stop[0]");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "stream": "yes"})").param, "stream");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "stream_options": {"include_usage": true}})").param, "stream_options");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "top_logprobs": 2})").param, "top_logprobs");
    EXPECT_EQ(chat_error(R"({"messages": [{"role": "wizard", "content": "x"}]})").param, "messages[0].role");
    EXPECT_EQ(chat_error(R"({"messages": [{"role": "user"}]})").param, "messages[0].content");
    EXPECT_EQ(chat_error(R"({"messages": [{"role": "user", "content": 5}]})").param, "messages[0].content");
}

// Every field: a value of the wrong type and values just outside the bounds are refused
// with 400 naming the field; the bounds themselves are accepted.
TEST(chat_request, every_field_checks_type_and_bounds) {
    struct field_case {
        const char* name;
        const char* wrong_type;
        std::vector<const char*> out_of_range;
        std::vector<const char*> in_range;
    };
    const std::vector<field_case> cases{
        {"max_tokens", "\"10\"", {"0", "1048577", "-1"}, {"1", "1048576"}},
        {"max_completion_tokens", "true", {"0"}, {"1"}},
        {"temperature", "\"0\"", {"-0.01", "2.01"}, {"0", "2"}},
        {"top_p", "[]", {"-0.01", "1.01"}, {"0", "1"}},
        {"top_k", "1.5", {"-1", "100001"}, {"0", "100000"}},
        {"min_p", "{}", {"-0.1", "1.1"}, {"0", "1"}},
        {"presence_penalty", "\"x\"", {"-2.01", "2.01"}, {"-2", "2"}},
        {"frequency_penalty", "false", {"-2.01", "2.01"}, {"-2", "2"}},
        {"repetition_penalty", "\"1\"", {"0", "10.5"}, {"0.01", "10"}},
        {"seed", "1.5", {"18446744073709551615", "1e300"}, {"-9223372036854775808", "9223372036854775807"}},
        {"top_logprobs", "\"2\"", {"-1", "21"}, {"0", "20"}},
        {"logprobs", "1", {}, {"true", "false"}},
        {"stream", "1", {}, {"false"}},
        {"stop", "5", {"[\"\"]", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]"}, {"\"x\"", "[\"x\", \"y\"]"}},
        {"logit_bias", "[1]", {"{\"1\": -100.5}", "{\"1\": 100.5}"}, {"{\"1\": -100}", "{\"1\": 100}"}},
        {"n", "\"1\"", {"0", "129"}, {"1"}},
        {"model", "5", {}, {"\"m\""}},
        {"n_predict", "\"5\"", {"0", "-2", "1048577"}, {"-1", "1", "1048576"}},
        {"repeat_last_n", "\"5\"", {"-2", "1048577"}, {"-1", "0", "64"}},
        {"ignore_eos", "1", {}, {"true", "false"}},
        {"chat_template_kwargs", "[]", {"{\"messages\": []}"}, {"{\"enable_thinking\": false}"}},
        {"tools", "{}", {"[{\"type\": \"function\"}]"}, {"[]", "null"}},
        {"modalities", "\"text\"", {"[\"audio\"]"}, {"[\"text\"]"}},
        {"mirostat", "\"2\"", {"2", "1"}, {"0", "0.0", "null"}},
        {"typical_p", "true", {"0.9"}, {"1", "1.0"}},
        {"top_n_sigma", "\"x\"", {"1.5"}, {"-1", "0"}},
    };
    for (const auto& c : cases) {
        const std::string extra = std::string(c.name) == "top_logprobs" ? R"(, "logprobs": true)" : "";
        auto body = [&](const char* v) { return "{" + k_msgs + extra + ", \"" + c.name + "\": " + v + "}"; };
        const auto wt = chat_error(body(c.wrong_type));
        EXPECT_EQ(wt.status, 400) << c.name << " wrong type";
        EXPECT_EQ(wt.param.substr(0, std::strlen(c.name)), c.name) << c.name << ": " << wt.what();
        for (const char* v : c.out_of_range) {
            const auto e = chat_error(body(v));
            EXPECT_EQ(e.status, 400) << c.name << " = " << v;
            EXPECT_EQ(e.param.substr(0, std::strlen(c.name)), c.name) << c.name << " = " << v << ": " << e.what();
        }
        for (const char* v : c.in_range) EXPECT_NO_THROW((void)parse_chat_request(body(v))) << c.name << " = " << v;
    }
}

TEST(chat_request, unsupported_fields_are_refused_not_dropped) {
    for (const char* f : {R"("tools": [{"type": "web_search"}])", R"("audio": {"voice": "x"})",
                          R"("dry_multiplier": 0.8)", R"("tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "custom"})"}) {
        const auto e = chat_error("{" + k_msgs + ", " + f + "}");
        EXPECT_EQ(e.status, 400) << f;
        EXPECT_FALSE(e.param.empty()) << f;
        EXPECT_EQ(e.code, "unsupported_parameter") << f;
    }
    const auto img = chat_error(R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]})");
    EXPECT_EQ(img.param, "messages[0].content[0]");
    EXPECT_NO_THROW((void)parse_chat_request("{" + k_msgs + R"(, "response_format": {"type": "text"}, "tools": [], "tool_choice": "none",
        "mirostat": 0, "penalize_nl": false})"));
}

TEST(chat_request, tools_and_tool_choice) {
    using sluice::tools::choice_mode;
    const std::string tools = R"("tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}},
        {"type": "function", "function": {"name": "now"}}])";
    const auto r = parse_chat_request("{" + k_msgs + ", " + tools + "}");
    ASSERT_EQ(r.tools.size(), 2u);
    EXPECT_EQ(r.tools[0].name, "get_weather");
    EXPECT_TRUE(r.tools[0].strict);
    EXPECT_EQ(r.tools[1].parameters.at("type"), "object");  // absent parameters: an empty object schema
    EXPECT_EQ(r.tool_choice.mode, choice_mode::automatic);   // the default with tools
    EXPECT_TRUE(r.parallel_tool_calls);
    EXPECT_EQ(parse_chat_request("{" + k_msgs + "}").tool_choice.mode, choice_mode::none);  // and without
    EXPECT_EQ(parse_chat_request("{" + k_msgs + ", " + tools + R"(, "tool_choice": "required"})").tool_choice.mode, choice_mode::required);
    const auto named = parse_chat_request("{" + k_msgs + ", " + tools + R"(, "tool_choice": {"type": "function", "function": {"name": "now"}},
        "parallel_tool_calls": false})");
    EXPECT_EQ(named.tool_choice.mode, choice_mode::named);
    EXPECT_EQ(named.tool_choice.name, "now");
    EXPECT_FALSE(named.parallel_tool_calls);
    // Legacy functions / function_call map onto tools / tool_choice.
    const auto legacy = parse_chat_request("{" + k_msgs + R"(, "functions": [{"name": "f", "parameters": {"type": "object"}}],
        "function_call": {"name": "f"}})");
    ASSERT_EQ(legacy.tools.size(), 1u);
    EXPECT_EQ(legacy.tool_choice.mode, choice_mode::named);
    // Errors name the field.
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "tool_choice": "required"})").param, "tool_choice");  // no tools
    EXPECT_EQ(chat_error("{" + k_msgs + ", " + tools + R"(, "tool_choice": {"type": "function", "function": {"name": "zz"}}})").param, "tool_choice");
    EXPECT_EQ(chat_error("{" + k_msgs + ", " + tools + R"(, "tool_choice": "sometimes"})").param, "tool_choice");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "tools": [{"type": "function", "function": {"name": "a b"}}]})").param, "tools[0].function.name");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "tools": [{"type": "function", "function": {"name": "a", "parameters": 3}}]})").param,
              "tools[0].function.parameters");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "tools": [{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "a"}}]})").param,
              "tools");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "tools": {}})").param, "tools");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "reasoning_format": "xml"})").param, "reasoning_format");
    EXPECT_FALSE(parse_chat_request("{" + k_msgs + R"(, "reasoning_format": "none"})").parse_reasoning);
    EXPECT_EQ(parse_chat_request("{" + k_msgs + R"(, "reasoning_effort": "low"})").reasoning_effort, "low");
}

TEST(chat_request, tool_call_round_trip_messages) {
    const auto r = parse_chat_request(R"({"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "function", "name": "old", "content": "legacy result"}]})");
    ASSERT_EQ(r.messages.size(), 4u);
    const auto& call = r.messages[1].at("tool_calls").at(0);
    EXPECT_EQ(call.at("id"), "call_1");
    EXPECT_EQ(call.at("function").at("arguments"), R"x({"city": "Paris"})x");
    EXPECT_EQ(r.messages[2].at("role"), "tool");
    EXPECT_EQ(r.messages[2].at("tool_call_id"), "call_1");
    EXPECT_EQ(r.messages[3].at("role"), "tool");
    EXPECT_EQ(chat_error(R"({"messages": [{"role": "assistant", "content": null, "tool_calls": [{"type": "function"}]}]})").param,
              "messages[0].tool_calls[0].function");
    EXPECT_EQ(chat_error(R"({"messages": [{"role": "tool"}]})").param, "messages[0].content");
}

TEST(chat_request, structured_output_specs) {
    using kind = constraint_spec::kind;
    EXPECT_EQ(parse_chat_request("{" + k_msgs + R"(, "response_format": {"type": "text"}})").constraint.type, kind::none);
    EXPECT_EQ(parse_chat_request("{" + k_msgs + R"(, "response_format": {"type": "json_object"}})").constraint.type, kind::json_object);
    const auto s = parse_chat_request("{" + k_msgs + R"(, "response_format": {"type": "json_schema",
        "json_schema": {"name": "a-b_1", "strict": true, "schema": {"type": "integer"}}}})");
    EXPECT_EQ(s.constraint.type, kind::json_schema);
    EXPECT_EQ(s.constraint.schema.at("type"), "integer");
    EXPECT_EQ(parse_chat_request("{" + k_msgs + R"(, "json_schema": {"type": "string"}})").constraint.type, kind::json_schema);
    EXPECT_EQ(parse_completion_request(R"({"prompt": "x", "grammar": "root ::= \"a\""})").constraint.type, kind::gbnf);
    EXPECT_EQ(parse_chat_request("{" + k_msgs + R"(, "grammar": ""})").constraint.type, kind::none);
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "response_format": {"type": "xml"}})").param, "response_format.type");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "response_format": {"type": "json_schema"}})").param, "response_format.json_schema");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "response_format": {"type": "json_schema", "json_schema": {"name": "a b", "schema": {}}}})").param,
              "response_format.json_schema.name");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": 5}}})").param,
              "response_format.json_schema.schema");
    EXPECT_EQ(chat_error("{" + k_msgs + R"(, "grammar": "root ::= \"a\"", "json_schema": {}})").status, 400);
}

TEST(constraint, compile_errors_name_the_keyword_and_field) {
    constraint_spec spec;
    spec.type = constraint_spec::kind::json_schema;
    spec.field = "response_format.json_schema.schema";
    spec.schema = boost::json::parse(R"({"type": "object", "properties": {"a": {"type": "string", "pattern": "(x)\\1"}}})");
    try {
        (void)compile_constraint(spec);
        ADD_FAILURE() << "a backreference compiled";
    } catch (const api_error& e) {
        EXPECT_EQ(e.status, 400);
        EXPECT_EQ(e.param, "response_format.json_schema.schema");
        EXPECT_NE(std::string(e.what()).find("pattern"), std::string::npos) << e.what();
    }
    constraint_spec g;
    g.type = constraint_spec::kind::gbnf;
    g.field = "grammar";
    g.gbnf = "root ::= undefined-rule";
    try {
        (void)compile_constraint(g);
        ADD_FAILURE() << "an undefined rule compiled";
    } catch (const api_error& e) {
        EXPECT_EQ(e.param, "grammar");
        EXPECT_EQ(e.code, "invalid_grammar");
    }
    grammar_cache cache(2);
    g.gbnf = "root ::= \"a\"";
    const auto first = cache.get(g);
    EXPECT_EQ(cache.get(g), first);  // the same spec compiles once
    EXPECT_EQ(cache.get(constraint_spec{}), nullptr);
}

// What agent CLIs and SDKs send that changes nothing here is accepted; fields nobody
// listed are accepted, ignored and named, or refused under strict_fields.
TEST(chat_request, harmless_and_unknown_fields_are_accepted_and_named) {
    const auto r = parse_chat_request("{" + k_msgs + R"(, "prompt_cache_key": "k", "safety_identifier": "s", "verbosity": "low",
        "reasoning_effort": "high", "cache_prompt": true, "modalities": ["text"], "user": "u", "store": false,
        "metadata": {"a": "b"}, "parallel_tool_calls": true, "frobnicate": 1, "x_extra": {"y": 2}})");
    EXPECT_EQ(r.ignored_fields, (std::vector<std::string>{"frobnicate", "x_extra"}));
    const auto strict = [&](const std::string& body) {
        try {
            (void)parse_chat_request(body, parse_options{true});
        } catch (const api_error& e) {
            return e;
        }
        return api_error(0, "", "no error");
    };
    EXPECT_EQ(strict("{" + k_msgs + R"(, "frobnicate": 1})").param, "frobnicate");
    EXPECT_EQ(strict("{" + k_msgs + R"(, "frobnicate": 1})").code, "unknown_parameter");
    EXPECT_EQ(strict(R"({"messages": [{"role": "user", "content": "x", "extra": 1}]})").param, "messages[0].extra");
    EXPECT_EQ(strict("{" + k_msgs + R"(, "prompt_cache_key": "k"})").status, 0);  // in the table: accepted even when strict
    const auto m = parse_chat_request(R"({"messages": [{"role": "user", "content": "x", "extra": 1}]})");
    EXPECT_EQ(m.ignored_fields, (std::vector<std::string>{"messages[0].extra"}));
}

TEST(chat_request, assistant_turns_may_have_null_content_and_reasoning) {
    const auto r = parse_chat_request(R"({"messages": [{"role": "user", "content": "a"},
        {"role": "assistant", "content": null, "reasoning_content": "think", "tool_calls": []}, {"role": "user", "content": "b"}]})");
    ASSERT_EQ(r.messages.size(), 3u);
    EXPECT_EQ(r.messages[1].at("content"), "");
    EXPECT_EQ(r.messages[1].at("reasoning_content"), "think");
    EXPECT_EQ(chat_error(R"({"messages": [{"role": "user", "content": null}]})").param, "messages[0].content");
}

TEST(chat_request, llama_server_extensions_are_honoured) {
    const auto r = parse_chat_request("{" + k_msgs + R"(, "n_predict": 7, "ignore_eos": true, "repeat_last_n": -1,
        "chat_template_kwargs": {"enable_thinking": false}})");
    EXPECT_EQ(*r.max_tokens, 7);
    EXPECT_TRUE(r.ignore_eos);
    EXPECT_EQ(r.sampling.penalty_last_n, -1);
    EXPECT_EQ(r.template_kwargs.at("enable_thinking"), false);
    EXPECT_FALSE(parse_chat_request("{" + k_msgs + R"(, "max_tokens": 5, "n_predict": -1})").max_tokens.has_value());
}

// Every field the table calls honoured is parsed by the endpoint, never ignored as unknown.
TEST(field_policy, honoured_fields_are_parsed_not_ignored) {
    for (const auto& f : request_fields()) {
        if (f.use != field_use::honoured || f.name == "messages" || f.name == "prompt") continue;
        const std::string body = "{" + k_msgs + ", \"" + std::string(f.name) + "\": null}";
        if ((f.endpoints & k_chat) != 0) {
            const auto e = chat_error(body);
            EXPECT_EQ(e.status, 0) << f.name << ": " << e.what();
            EXPECT_TRUE(parse_chat_request(body).ignored_fields.empty()) << f.name;
        }
        if ((f.endpoints & k_completions) != 0) {
            const auto r = parse_completion_request(R"({"prompt": "x", ")" + std::string(f.name) + R"(": null})");
            EXPECT_TRUE(r.ignored_fields.empty()) << f.name;
        }
    }
}

TEST(json_body, lone_surrogates_become_replacement_characters) {
    const auto r = parse_chat_request(R"({"messages": [{"role": "user", "content": "cut \ud83d here \udc00 and \ud83d\ude00 ok"}]})");
    EXPECT_EQ(r.messages[0].at("content"), "cut \xEF\xBF\xBD here \xEF\xBF\xBD and \xF0\x9F\x98\x80 ok");
    std::string out;
    EXPECT_FALSE(replace_lone_surrogates(R"({"a": "\\ud800"})", out));  // an escaped backslash, not an escape
    EXPECT_TRUE(replace_lone_surrogates(R"(["\ud800\ud800\udc00"])", out));
    EXPECT_EQ(out, R"(["\ufffd\ud800\udc00"])");
    EXPECT_FALSE(replace_lone_surrogates(R"({"k": "\"\ud83d\ude00"})", out));
}

TEST(json_body, syntax_errors_name_the_byte_offset) {
    EXPECT_NE(std::string(chat_error(R"({"messages": [1,,2]})").what()).find("at byte 16"), std::string::npos);
    EXPECT_NE(std::string(chat_error(R"({"messages": )").what()).find("ends early, at byte 13"), std::string::npos);
    EXPECT_NE(std::string(chat_error(R"({} x)").what()).find("at byte 3"), std::string::npos);
    std::string deep(200, '[');
    EXPECT_EQ(chat_error(deep + std::string(200, ']')).status, 400);
}

TEST(completion_request, prompt_forms_and_legacy_fields) {
    EXPECT_EQ(parse_completion_request(R"({"prompt": "Once"})").prompt, "Once");
    EXPECT_EQ(*parse_completion_request(R"({"prompt": "Once"})").max_tokens, 16);  // OpenAI default
    EXPECT_EQ(parse_completion_request(R"({"prompt": ["Once"]})").prompt, "Once");
    EXPECT_EQ(parse_completion_request(R"({"prompt": [1, 2, 3]})").prompt_ids.size(), 3u);
    EXPECT_EQ(parse_completion_request(R"({"prompt": "x", "logprobs": 2})").top_logprobs, 2);
    EXPECT_TRUE(parse_completion_request(R"({"prompt": "x", "echo": true})").echo);
    EXPECT_EQ(parse_completion_request(R"({"prompt": "x", "n": 3})").n, 3);
    EXPECT_EQ(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}], "n": 128})").n, 128);
    for (const char* body : {R"({"prompt": ["a", "b"]})", R"({"prompt": "x", "echo": 1})", R"({"prompt": "x", "n": 0})", R"({"prompt": "x", "suffix": "y"})",
                             R"({"prompt": "x", "best_of": 2})", R"({"prompt": 5})", R"({"max_tokens": 5})"}) {
        EXPECT_THROW((void)parse_completion_request(body), api_error) << body;
    }
}

TEST(api_error, envelope_has_the_openai_shape) {
    const auto e = invalid_request("bad 'x'", "x", "some_code");
    const auto j = boost::json::parse(e.body()).as_object().at("error").as_object();
    EXPECT_EQ(j.at("message"), "bad 'x'");
    EXPECT_EQ(j.at("type"), "invalid_request_error");
    EXPECT_EQ(j.at("param"), "x");
    EXPECT_EQ(j.at("code"), "some_code");
    const auto n = boost::json::parse(internal_error().body()).as_object().at("error").as_object();
    EXPECT_TRUE(n.at("param").is_null());
    EXPECT_EQ(rate_limited(3).status, 429);
    EXPECT_EQ(rate_limited(3).retry_after, 3);
    EXPECT_EQ(unauthorized("no key").status, 401);
}

TEST(sse, frames_are_single_data_lines) {
    const auto f = sse_frame(boost::json::object{{"text", "line one\nline two"}});
    EXPECT_EQ(f, "data: {\"text\":\"line one\\nline two\"}\n\n");
    EXPECT_EQ(f.find('\n'), f.size() - 2);  // the only newlines end the frame
    EXPECT_STREQ(sse_done, "data: [DONE]\n\n");
}

TEST(stop_matcher, holds_back_possible_stop_prefixes_across_pieces) {
    stop_matcher m({"END", "\n\n"});
    EXPECT_EQ(m.push("Hello E"), "Hello ");  // "E" could start "END"
    EXPECT_EQ(m.push("N"), "");
    EXPECT_EQ(m.push("X more"), "ENX more");  // not a stop after all
    EXPECT_EQ(m.push(" text\n"), " text");
    EXPECT_EQ(m.push("\ntail"), "");  // "\n\n" completes: stop, nothing after it
    EXPECT_TRUE(m.stopped());
    EXPECT_EQ(m.push("ignored"), "");
    stop_matcher n({"###"});
    EXPECT_EQ(n.push("a#"), "a");
    EXPECT_EQ(n.flush(), "#");  // generation ended: held text is released
    stop_matcher u({"\xC3\xA9t\xC3\xA9"});  // été
    EXPECT_EQ(u.push("caf\xC3\xA9"), "caf");  // é could start été: held whole, never half a character
    EXPECT_EQ(u.push("!"), "\xC3\xA9!");
}

}  // namespace

namespace {

std::string read_api_doc() {
    std::ifstream f(std::string(SLUICE_SOURCE_DIR) + "/docs/api.md");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The text between <!-- NAME:begin --> and <!-- NAME:end --> ("" when absent).
std::string between_markers(const std::string& doc, const std::string& name) {
    const std::string open = "<!-- " + name + ":begin -->\n";
    const auto begin = doc.find(open);
    const auto end = doc.find("<!-- " + name + ":end -->");
    if (begin == std::string::npos || end == std::string::npos) return {};
    return doc.substr(begin + open.size(), end - begin - open.size());
}

const char* use_word(sluice::api::field_use u) {
    return u == sluice::api::field_use::honoured ? "honoured" : u == sluice::api::field_use::ignored ? "ignored" : "refused";
}

// docs/api.md carries a copy of each field table between markers; it must say what the code does.
TEST(field_policy, docs_table_matches_the_code) {
    const std::string doc = read_api_doc();
    ASSERT_FALSE(doc.empty()) << "docs/api.md not found";
    std::string expected = "| field | endpoints | policy | notes |\n|---|---|---|---|\n";
    for (const auto& r : sluice::api::request_fields()) {
        const char* ep = r.endpoints == sluice::api::k_both ? "both" : r.endpoints == sluice::api::k_chat ? "chat" : "completions";
        expected += "| `" + std::string(r.name) + "` | " + ep + " | " + use_word(r.use) + " | " + std::string(r.note) + " |\n";
    }
    EXPECT_EQ(between_markers(doc, "field-table"), expected);
}

TEST(field_policy, docs_messages_and_responses_tables_match_the_code) {
    const std::string doc = read_api_doc();
    const std::pair<const char*, std::span<const sluice::api::field_rule>> tables[] = {
        {"messages-field-table", sluice::api::messages_fields()}, {"responses-field-table", sluice::api::responses_fields()}};
    for (const auto& [marker, table] : tables) {
        std::string expected = "| field | policy | notes |\n|---|---|---|\n";
        for (const auto& r : table) expected += "| `" + std::string(r.name) + "` | " + use_word(r.use) + " | " + std::string(r.note) + " |\n";
        EXPECT_EQ(between_markers(doc, marker), expected) << marker;
    }
}

}  // namespace
