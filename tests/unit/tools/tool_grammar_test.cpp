// Tool-call grammars: what each family's grammar accepts and refuses, checked with the
// grammar matcher over a byte vocabulary, and that the family's parser reads the grammar's
// output back as the same call (grammar and parser agree on the syntax).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/matcher.hpp"
#include "sluice/grammar/token_vocabulary.hpp"
#include "sluice/tools/output_parser.hpp"
#include "sluice/tools/tool_grammar.hpp"

namespace {

namespace json = boost::json;
using namespace sluice::tools;

std::shared_ptr<const sluice::grammar::token_vocabulary> byte_vocab() {
    static const auto v = [] {
        std::vector<std::string> pieces;
        for (int b = 0; b < 256; ++b) pieces.emplace_back(1, static_cast<char>(b));
        pieces.emplace_back("");  // 256: end of generation
        return std::make_shared<const sluice::grammar::token_vocabulary>(std::move(pieces), std::vector<std::int32_t>{256},
                                                                         std::vector<std::int32_t>{});
    }();
    return v;
}

// The grammar accepts `text` as a complete output.
bool accepts(const call_constraint& c, std::string_view text) {
    sluice::grammar::matcher m(sluice::grammar::parse_gbnf(c.gbnf), byte_vocab());
    return m.accept_bytes(text) && m.is_complete();
}

std::vector<tool_def> weather_tools() {
    tool_def w;
    w.name = "get_weather";
    w.parameters = json::parse(R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city"]})");
    tool_def t;
    t.name = "get_time";
    t.parameters = json::parse(R"({"type":"object","properties":{"zone":{"type":"string","enum":["utc","local"]}},"required":["zone"]})");
    return {w, t};
}

output_format format_of(family f, bool think = false) {
    output_format fmt;
    fmt.calls = f;
    fmt.template_renders_tools = f != family::generic;
    if (think) {
        fmt.reasoning = reasoning_style::tags;
        fmt.think_open = "<think>";
        fmt.think_close = "</think>";
    }
    return fmt;
}

// Parses `text` with the family's parser; returns {name, arguments JSON} per call and the content.
struct parsed {
    std::vector<std::pair<std::string, json::value>> calls;
    std::string content, reasoning;
};
parsed parse(const output_format& fmt, family as, std::string_view text, bool starts_in_reasoning = false) {
    output_format f = fmt;
    f.calls = as;
    parse_options o;
    o.parse_calls = true;
    o.starts_in_reasoning = starts_in_reasoning;
    o.tools = weather_tools();
    auto p = make_output_parser(f, o);
    std::vector<parse_event> ev;
    p->push(text, ev);
    p->finish(ev);
    parsed out;
    std::vector<std::string> args;
    for (const auto& e : ev) {
        switch (e.type) {
            case parse_event::kind::content: out.content += e.text; break;
            case parse_event::kind::reasoning: out.reasoning += e.text; break;
            case parse_event::kind::call_begin:
                out.calls.push_back({e.name, nullptr});
                args.emplace_back();
                break;
            case parse_event::kind::call_arguments: args.at(e.index) += e.text; break;
            case parse_event::kind::call_end: break;
        }
    }
    for (std::size_t i = 0; i < args.size(); ++i) out.calls[i].second = json::parse(args[i]);
    return out;
}

TEST(tool_grammar, hermes_required_accepts_calls_and_refuses_prose) {
    const auto fmt = format_of(family::hermes);
    const auto c = build_call_constraint(fmt, weather_tools(), {choice_mode::required, {}}, true, reasoning_start::none);
    EXPECT_FALSE(c.lazy);
    const std::string one = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\",\"days\":3}}\n</tool_call>";
    const std::string two = one + "\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\":\"utc\"}}\n</tool_call>";
    EXPECT_TRUE(accepts(c, one));
    EXPECT_TRUE(accepts(c, two));
    EXPECT_FALSE(accepts(c, "Sure, the weather is nice."));
    EXPECT_FALSE(accepts(c, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"days\":3}}\n</tool_call>"));           // city missing
    EXPECT_FALSE(accepts(c, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"P\",\"days\":9}}\n</tool_call>"));  // days > 7
    EXPECT_FALSE(accepts(c, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"P\",\"x\":1}}\n</tool_call>"));   // invented key
    EXPECT_FALSE(accepts(c, "<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>"));
    const auto p = parse(fmt, c.parse_as, two);
    ASSERT_EQ(p.calls.size(), 2u);
    EXPECT_EQ(p.calls[0].first, "get_weather");
    EXPECT_EQ(p.calls[0].second, json::parse(R"({"city":"Paris","days":3})"));
    EXPECT_EQ(p.calls[1].first, "get_time");
    EXPECT_EQ(p.content, "");
}

TEST(tool_grammar, parallel_false_allows_one_call) {
    const auto c = build_call_constraint(format_of(family::hermes), weather_tools(), {choice_mode::required, {}}, false, reasoning_start::none);
    const std::string one = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\":\"utc\"}}\n</tool_call>";
    EXPECT_TRUE(accepts(c, one));
    EXPECT_FALSE(accepts(c, one + "\n" + one));
}

TEST(tool_grammar, named_choice_allows_only_that_function) {
    const auto c = build_call_constraint(format_of(family::hermes), weather_tools(), {choice_mode::named, "get_time"}, true, reasoning_start::none);
    EXPECT_TRUE(accepts(c, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\":\"local\"}}\n</tool_call>"));
    EXPECT_FALSE(accepts(c, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"P\"}}\n</tool_call>"));
    EXPECT_THROW(build_call_constraint(format_of(family::hermes), weather_tools(), {choice_mode::named, "other"}, true, reasoning_start::none),
                 std::invalid_argument);
}

TEST(tool_grammar, auto_is_lazy_from_the_family_trigger) {
    const auto hermes = build_call_constraint(format_of(family::hermes), weather_tools(), {}, true, reasoning_start::none);
    EXPECT_TRUE(hermes.lazy);
    EXPECT_EQ(hermes.triggers, std::vector<std::string>{"<tool_call>"});
    // The lazy grammar starts at the trigger word.
    EXPECT_TRUE(accepts(hermes, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\":\"utc\"}}\n</tool_call>"));
    const auto llama = build_call_constraint(format_of(family::llama3), weather_tools(), {}, true, reasoning_start::none);
    EXPECT_TRUE(llama.lazy);
    EXPECT_EQ(llama.start_triggers, std::vector<std::string>{"{"});
    EXPECT_TRUE(accepts(llama, "{\"name\": \"get_time\", \"parameters\": {\"zone\":\"utc\"}}"));
    EXPECT_TRUE(accepts(llama, "<|python_tag|>{\"name\": \"get_time\", \"parameters\": {\"zone\":\"utc\"}}"));
    EXPECT_TRUE(build_call_constraint(format_of(family::hermes), weather_tools(), {choice_mode::none, {}}, true, reasoning_start::none).gbnf.empty());
}

TEST(tool_grammar, llama3_required_round_trips_through_its_parser) {
    const auto fmt = format_of(family::llama3);
    const auto c = build_call_constraint(fmt, weather_tools(), {choice_mode::required, {}}, true, reasoning_start::none);
    const std::string out = "{\"name\": \"get_weather\", \"parameters\": {\"city\":\"Oslo\"}}";
    EXPECT_TRUE(accepts(c, out));
    const auto p = parse(fmt, c.parse_as, out);
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.calls[0].second, json::parse(R"({"city":"Oslo"})"));
}

TEST(tool_grammar, generic_envelope_for_templates_without_tools) {
    const auto fmt = format_of(family::generic);
    const auto req = build_call_constraint(fmt, weather_tools(), {choice_mode::required, {}}, true, reasoning_start::none);
    const std::string calls = "{\"tool_calls\": [{\"name\": \"get_time\", \"arguments\": {\"zone\":\"utc\"}}, {\"name\": \"get_weather\", \"arguments\": {\"city\":\"Rome\"}}]}";
    EXPECT_TRUE(accepts(req, calls));
    EXPECT_FALSE(accepts(req, "{\"response\": \"hi\"}"));
    const auto p = parse(fmt, req.parse_as, calls);
    ASSERT_EQ(p.calls.size(), 2u);
    EXPECT_EQ(p.calls[1].second, json::parse(R"({"city":"Rome"})"));
    // auto: the envelope is the whole output, and a text answer is allowed.
    const auto any = build_call_constraint(fmt, weather_tools(), {}, true, reasoning_start::none);
    EXPECT_FALSE(any.lazy);
    EXPECT_TRUE(accepts(any, "{\"response\": \"It is \\\"sunny\\\"\"}"));
    EXPECT_TRUE(accepts(any, calls));
    const auto text = parse(fmt, any.parse_as, "{\"response\": \"It is \\\"sunny\\\"\"}");
    EXPECT_TRUE(text.calls.empty());
    EXPECT_EQ(text.content, "It is \"sunny\"");
}

TEST(tool_grammar, families_without_a_grammar_fall_back_to_the_envelope_when_forced) {
    for (const family f : {family::gemma4, family::deepseek_r1, family::deepseek_v3, family::harmony}) {
        const auto req = build_call_constraint(format_of(f), weather_tools(), {choice_mode::required, {}}, true, reasoning_start::none);
        EXPECT_EQ(req.parse_as, family::generic) << family_name(f);
        EXPECT_TRUE(accepts(req, "{\"tool_calls\": [{\"name\": \"get_time\", \"arguments\": {\"zone\":\"utc\"}}]}"));
        const auto any = build_call_constraint(format_of(f), weather_tools(), {}, true, reasoning_start::none);
        EXPECT_TRUE(any.gbnf.empty()) << family_name(f);  // parsed, not enforced
        EXPECT_EQ(any.parse_as, f);
    }
}

TEST(tool_grammar, qwen_xml_parameters) {
    const auto fmt = format_of(family::qwen_xml);
    const auto c = build_call_constraint(fmt, weather_tools(), {choice_mode::required, {}}, true, reasoning_start::none);
    const std::string out =
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nNew York\n</parameter>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>";
    EXPECT_TRUE(accepts(c, out));
    EXPECT_FALSE(accepts(c, "<tool_call>\n<function=get_weather>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>"));
    const auto p = parse(fmt, c.parse_as, out);
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.calls[0].second, json::parse(R"({"city":"New York","days":2})"));
}

TEST(tool_grammar, reasoning_before_required_calls) {
    const auto fmt = format_of(family::hermes, true);
    const std::string call = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\":\"utc\"}}\n</tool_call>";
    const auto optional = build_call_constraint(fmt, weather_tools(), {choice_mode::required, {}}, true, reasoning_start::optional);
    EXPECT_TRUE(accepts(optional, call));
    EXPECT_TRUE(accepts(optional, "<think>\nlet me see </thin </think>\n\n" + call));
    EXPECT_FALSE(accepts(optional, "<think>never closed " + call));
    const auto inside = build_call_constraint(fmt, weather_tools(), {choice_mode::required, {}}, true, reasoning_start::inside);
    EXPECT_TRUE(accepts(inside, "thinking...</think>\n\n" + call));
    EXPECT_FALSE(accepts(inside, call));
    const auto p = parse(fmt, inside.parse_as, "thinking <tool_call>x</tool_call></think>\n\n" + call, true);
    EXPECT_EQ(p.reasoning, "thinking <tool_call>x</tool_call>");
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.content, "");
}

TEST(tool_grammar, where_the_output_starts) {
    const auto fmt = format_of(family::hermes, true);
    EXPECT_EQ(reasoning_at_start(fmt, "<|im_start|>assistant\n"), reasoning_start::optional);
    EXPECT_EQ(reasoning_at_start(fmt, "<|im_start|>assistant\n<think>\n"), reasoning_start::inside);
    EXPECT_EQ(reasoning_at_start(fmt, "<|im_start|>assistant\n<think>\n\n</think>\n\n"), reasoning_start::none);
    EXPECT_EQ(reasoning_at_start(fmt, "<think>a</think>b<|im_start|>assistant\n"), reasoning_start::optional);
    EXPECT_EQ(reasoning_at_start(format_of(family::hermes), "<think>"), reasoning_start::none);
}

TEST(tool_grammar, hostile_parameters_are_refused_not_crashed) {
    tool_def bad;
    bad.name = "f";
    bad.parameters = json::parse(R"({"type":"object","properties":{"a":{"type":"string","pattern":"(("}}})");
    EXPECT_ANY_THROW(build_call_constraint(format_of(family::hermes), {bad}, {choice_mode::required, {}}, true, reasoning_start::none));
}

TEST(tool_grammar, generic_prompt_names_the_tools_and_the_envelope) {
    const std::string s = generic_tools_prompt(weather_tools(), {}, true);
    EXPECT_NE(s.find("get_weather"), std::string::npos);
    EXPECT_NE(s.find("\"tool_calls\""), std::string::npos);
    EXPECT_NE(s.find("\"response\""), std::string::npos);
    EXPECT_EQ(generic_tools_prompt(weather_tools(), {choice_mode::required, {}}, true).find("\"response\""), std::string::npos);
}

}  // namespace
