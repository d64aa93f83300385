// The streaming output parsers (src/tools/parse_*.cpp), family by family: hand-written
// outputs as each model family writes them, every one also pushed split at every byte and
// byte by byte (chunking never changes the events); arguments checked as JSON; markers never
// in content; and random byte / marker soups that must neither throw nor break the stream's
// shape.
#include "sluice/tools/output_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::tools {
namespace {

// ---- helpers ----

namespace test {

// Adjacent content / reasoning / same-call argument fragments merged into one event.
inline std::vector<parse_event> merged(const std::vector<parse_event>& events) {
    std::vector<parse_event> out;
    for (const auto& e : events) {
        const bool text_kind = e.type == parse_event::kind::content || e.type == parse_event::kind::reasoning ||
                               e.type == parse_event::kind::call_arguments;
        if (text_kind && e.text.empty()) continue;
        if (text_kind && !out.empty() && out.back().type == e.type && out.back().index == e.index) {
            out.back().text += e.text;
            continue;
        }
        out.push_back(e);
    }
    return out;
}

inline std::vector<parse_event> run(const output_format& f, const parse_options& o,
                                    const std::vector<std::string_view>& pieces) {
    auto p = make_output_parser(f, o);
    std::vector<parse_event> events;
    for (auto piece : pieces) p->push(piece, events);
    p->finish(events);
    return merged(events);
}

inline std::vector<parse_event> run_bytewise(const output_format& f, const parse_options& o, std::string_view text) {
    std::vector<std::string_view> pieces;
    for (std::size_t i = 0; i < text.size(); ++i) pieces.push_back(text.substr(i, 1));
    return run(f, o, pieces);
}

inline std::string describe(const std::vector<parse_event>& events) {
    static const char* names[] = {"content", "reasoning", "call_begin", "call_arguments", "call_end"};
    std::string s;
    for (const auto& e : events) {
        s += names[static_cast<int>(e.type)];
        s += "[" + std::to_string(e.index) + "]";
        if (!e.name.empty()) s += " name=" + e.name;
        if (!e.id.empty()) s += " id=" + e.id;
        if (!e.text.empty()) s += " text=<" + e.text + ">";
        s += "\n";
    }
    return s;
}

inline bool same(const std::vector<parse_event>& a, const std::vector<parse_event>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].type != b[i].type || a[i].text != b[i].text || a[i].name != b[i].name || a[i].id != b[i].id ||
            a[i].index != b[i].index)
            return false;
    }
    return true;
}

// Calls begin with indices 0, 1, ...; arguments only inside their open call; each call ends
// (finish() was called).
inline void expect_well_formed(const std::vector<parse_event>& events) {
    std::size_t next = 0;
    bool open = false;
    for (const auto& e : events) {
        switch (e.type) {
        case parse_event::kind::call_begin:
            ASSERT_FALSE(open) << describe(events);
            ASSERT_EQ(e.index, next) << describe(events);
            ASSERT_FALSE(e.name.empty());
            open = true;
            ++next;
            break;
        case parse_event::kind::call_arguments:
            ASSERT_TRUE(open) << describe(events);
            ASSERT_EQ(e.index, next - 1);
            break;
        case parse_event::kind::call_end:
            ASSERT_TRUE(open) << describe(events);
            ASSERT_EQ(e.index, next - 1);
            open = false;
            break;
        default: break;
        }
    }
    ASSERT_FALSE(open) << describe(events);
}

// Pushing `text` split at every byte position, and byte by byte, gives `whole`'s events.
inline void expect_chunking_invariant(const output_format& f, const parse_options& o, std::string_view text,
                                      const std::vector<parse_event>& whole) {
    for (std::size_t i = 0; i <= text.size(); ++i) {
        const auto split = run(f, o, {text.substr(0, i), text.substr(i)});
        ASSERT_TRUE(same(split, whole)) << "split at " << i << " of <" << text << ">\nwhole:\n"
                                        << describe(whole) << "split:\n"
                                        << describe(split);
    }
    const auto bytes = run_bytewise(f, o, text);
    ASSERT_TRUE(same(bytes, whole)) << "byte by byte <" << text << ">\nwhole:\n"
                                    << describe(whole) << "bytes:\n"
                                    << describe(bytes);
}

}  // namespace test

// ---- formats ----

output_format fmt(family f, reasoning_style r = reasoning_style::none, std::string open = {}, std::string close = {}) {
    output_format o;
    o.calls = f;
    o.reasoning = r;
    o.think_open = std::move(open);
    o.think_close = std::move(close);
    return o;
}

output_format think(family f) { return fmt(f, reasoning_style::tags, "<think>", "</think>"); }

std::vector<tool_def> weather_tools() {
    std::vector<tool_def> tools(2);
    tools[0].name = "get_weather";
    tools[0].parameters = boost::json::parse(
        R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},"opts":{}}})");
    tools[1].name = "search";
    tools[1].parameters = boost::json::parse(R"({"type":"object","properties":{"q":{"type":"string"}}})");
    return tools;
}

parse_options calls_on(bool starts_in_reasoning = false) {
    parse_options o;
    o.parse_calls = true;
    o.starts_in_reasoning = starts_in_reasoning;
    o.tools = weather_tools();
    return o;
}

// ---- cases ----

struct expected_call {
    std::string name;
    std::string args;  // JSON text compared as JSON; exact text when the case is cut off
    std::string id = {};
};

struct parser_case {
    std::string label;
    output_format format;
    parse_options options;
    std::string output;
    std::string content;
    std::string reasoning;
    std::vector<expected_call> calls;
    bool markup_free = true;  // no marker of the family may appear in content
    bool cut_off = false;     // the last call's arguments are compared as exact text
};

// The markers each family writes; none may reach content in a well-formed output.
std::vector<std::string> markers_of(const output_format& f) {
    std::vector<std::string> m;
    if (!f.think_open.empty()) m.push_back(f.think_open);
    if (!f.think_close.empty()) m.push_back(f.think_close);
    switch (f.calls) {
    case family::generic: m.push_back("\"tool_calls\""); m.push_back("\"response\""); break;
    case family::hermes: m.push_back("<tool_call>"); m.push_back("</tool_call>"); break;
    case family::llama3: m.push_back("<|python_tag|>"); m.push_back("\"parameters\""); break;
    case family::mistral: m.push_back("[TOOL_CALLS]"); m.push_back("[ARGS]"); m.push_back("[CALL_ID]"); break;
    case family::qwen_xml: m.push_back("<tool_call>"); m.push_back("<function="); m.push_back("<parameter="); break;
    case family::gemma4: m.push_back("<|tool_call>"); m.push_back("<tool_call|>"); m.push_back("<|\"|>"); break;
    case family::deepseek_r1: m.push_back("<｜tool▁"); break;
    case family::deepseek_v3: m.push_back("｜DSML｜"); break;
    case family::harmony: m.push_back("<|channel|>"); m.push_back("<|message|>"); m.push_back("<|start|>"); m.push_back("<|end|>"); m.push_back("<|call|>"); break;
    }
    if (f.reasoning == reasoning_style::gemma4) {
        m.push_back("<|channel>");
        m.push_back("<channel|>");
    }
    return m;
}

void check_case(const parser_case& c) {
    SCOPED_TRACE(c.label);
    const auto events = test::run(c.format, c.options, {c.output});
    test::expect_well_formed(events);
    std::string content, reasoning;
    std::vector<expected_call> calls;
    for (const auto& e : events) {
        switch (e.type) {
        case parse_event::kind::content: content += e.text; break;
        case parse_event::kind::reasoning: reasoning += e.text; break;
        case parse_event::kind::call_begin: calls.push_back({e.name, "", e.id}); break;
        case parse_event::kind::call_arguments: calls.back().args += e.text; break;
        case parse_event::kind::call_end: break;
        }
    }
    EXPECT_EQ(content, c.content) << test::describe(events);
    EXPECT_EQ(reasoning, c.reasoning) << test::describe(events);
    ASSERT_EQ(calls.size(), c.calls.size()) << test::describe(events);
    for (std::size_t i = 0; i < calls.size(); ++i) {
        EXPECT_EQ(calls[i].name, c.calls[i].name);
        EXPECT_EQ(calls[i].id, c.calls[i].id);
        if (c.cut_off && i + 1 == calls.size()) {
            EXPECT_EQ(calls[i].args, c.calls[i].args);
            continue;
        }
        boost::system::error_code ec;
        const auto got = boost::json::parse(calls[i].args, ec);
        ASSERT_FALSE(ec) << "arguments are not JSON: <" << calls[i].args << ">";
        ASSERT_TRUE(got.is_object()) << calls[i].args;
        EXPECT_EQ(got, boost::json::parse(c.calls[i].args)) << calls[i].args;
    }
    if (c.markup_free) {
        for (const auto& m : markers_of(c.format)) EXPECT_EQ(content.find(m), std::string::npos) << "marker " << m;
    }
    test::expect_chunking_invariant(c.format, c.options, c.output, events);
}

void check_all(const std::vector<parser_case>& cases) {
    for (const auto& c : cases) check_case(c);
}

parse_options reasoning_off() {
    parse_options o = calls_on();
    o.parse_reasoning = false;
    return o;
}

// ---- generic ----

TEST(OutputParser, Generic) {
    const auto g = fmt(family::generic);
    check_all({
        {"response", g, calls_on(), R"({"response": "Hello \"world\" \u00e9 \ud83d\ude00\n"})",
         "Hello \"world\" \xC3\xA9 \xF0\x9F\x98\x80\n", "", {}},
        {"one call", g, calls_on(), R"({"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]})", "", "",
         {{"get_weather", R"({"city":"Paris"})"}}},
        {"several calls", g, calls_on(),
         "{ \"tool_calls\" : [ {\"name\": \"a\", \"arguments\": {\"x\": [1, {\"y\": \"}\"}]}} ,\n {\"name\": \"b\", \"arguments\": {}} ] }",
         "", "", {{"a", R"({"x":[1,{"y":"}"}]})"}, {"b", "{}"}}},
        {"no calls", g, calls_on(), R"({"tool_calls": []})", "", "", {}},
        {"plain text", g, calls_on(), "Just text {\"tool_calls\": []}", "Just text {\"tool_calls\": []}", "", {}, false},
        {"reasoning then call", think(family::generic), calls_on(),
         "<think>\nI need the weather.\n</think>\n\n{\"tool_calls\":[{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}]}",
         "", "I need the weather.\n", {{"get_weather", R"({"city":"Oslo"})"}}},
        {"call inside reasoning", think(family::generic), calls_on(),
         "<think>{\"tool_calls\":[{\"name\":\"x\",\"arguments\":{}}]}</think>{\"response\":\"no\"}", "no",
         "{\"tool_calls\":[{\"name\":\"x\",\"arguments\":{}}]}", {}},
        {"malformed envelope", g, calls_on(), R"({"foo": 1})", R"({"foo": 1})", "", {}, false},
        {"malformed call", g, calls_on(), R"({"tool_calls":[{"nom":"f"}]})", R"({"tool_calls":[{"nom":"f"}]})", "", {},
         false},
        {"cut off", g, calls_on(), R"({"tool_calls":[{"name":"f","arguments":{"a":"par)", "", "",
         {{"f", R"({"a":"par)"}}, true, true},
        {"calls off", g, parse_options{}, R"({"response":"x"})", R"({"response":"x"})", "", {}, false},
    });
}

// ---- hermes ----

TEST(OutputParser, Hermes) {
    const auto h = think(family::hermes);
    const std::string call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
    check_all({
        {"plain", h, calls_on(), "Hello, world! 1 < 2 and <b>bold</b>.", "Hello, world! 1 < 2 and <b>bold</b>.", "", {}},
        {"one call", h, calls_on(), call, "", "", {{"get_weather", R"({"city":"Paris"})"}}},
        {"several calls", h, calls_on(),
         call + "\n" + "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"a \\\"b\\\" }{\"}}\n</tool_call>", "",
         "", {{"get_weather", R"({"city":"Paris"})"}, {"search", R"({"q":"a \"b\" }{"})"}}},
        {"content then call", h, calls_on(), "Let me check.\n" + call, "Let me check.\n", "",
         {{"get_weather", R"({"city":"Paris"})"}}},
        {"reasoning then call", h, calls_on(), "<think>\nThe user wants weather.\n</think>\n\n" + call, "",
         "The user wants weather.\n", {{"get_weather", R"({"city":"Paris"})"}}},
        {"starts in reasoning", h, calls_on(true), "Okay.\n</think>\n\nIt is sunny.", "It is sunny.", "Okay.\n", {}},
        {"call inside reasoning", h, calls_on(), "<think>maybe " + call + "</think>Answer", "Answer", "maybe " + call, {}},
        {"arguments before name", h, calls_on(), "<tool_call>{\"arguments\": {\"x\": 1}, \"name\": \"f\"}</tool_call>", "",
         "", {{"f", R"({"x":1})"}}},
        {"text after calls", h, calls_on(), call + "\n\nDone.", "Done.", "", {{"get_weather", R"({"city":"Paris"})"}}},
        {"no closing tag", h, calls_on(), "<tool_call>{\"name\": \"f\", \"arguments\": {}} and more", "and more", "",
         {{"f", "{}"}}},
        {"malformed", h, calls_on(), "<tool_call>\nnot json</tool_call> ok", "<tool_call>\nnot json</tool_call> ok", "", {},
         false},
        {"malformed key", h, calls_on(), "<tool_call>{\"fn\": \"f\"}</tool_call>", "<tool_call>{\"fn\": \"f\"}</tool_call>",
         "", {}, false},
        {"cut off", h, calls_on(), "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": \"par", "", "",
         {{"f", "{\"a\": \"par"}}, true, true},
        {"cut off before name", h, calls_on(), "Hi <tool_call>\n{\"na", "Hi <tool_call>\n{\"na", "", {}, false},
        {"cut off marker", h, calls_on(), "Hi <tool_ca", "Hi <tool_ca", "", {}, false},
        {"arguments as string", h, calls_on(), "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>",
         "", "", {{"f", R"({"a":1})"}}},
        {"reasoning off", h, reasoning_off(), "<think>a <tool_call>{}</tool_call></think>\n" + call,
         "<think>a <tool_call>{}</tool_call></think>\n", "", {{"get_weather", R"({"city":"Paris"})"}}, false},
        {"calls off", h, parse_options{}, "<think>r</think>" + call, call, "r", {}, false},
    });
}

// ---- llama 3 ----

TEST(OutputParser, Llama3) {
    const auto l = fmt(family::llama3);
    check_all({
        {"plain", l, calls_on(), "The answer is 4.", "The answer is 4.", "", {}},
        {"one call", l, calls_on(), "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "", "",
         {{"get_weather", R"({"city":"Paris"})"}}},
        {"type function", l, calls_on(), "\n{\"type\": \"function\", \"name\": \"f\", \"parameters\": {\"a\": [1, 2]}}", "",
         "", {{"f", R"({"a":[1,2]})"}}},
        {"several calls", l, calls_on(), "{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"arguments\": {\"x\": 1}}\n",
         "", "", {{"a", "{}"}, {"b", R"({"x":1})"}}},
        {"python tag", l, calls_on(), "Sure. <|python_tag|>{\"name\": \"f\", \"parameters\": {}}", "Sure. ", "", {{"f", "{}"}}},
        {"brace later is content", l, calls_on(), "Use {\"name\": \"x\", \"parameters\": {}} like so",
         "Use {\"name\": \"x\", \"parameters\": {}} like so", "", {}, false},
        {"object that is not a call", l, calls_on(), "{\"foo\": 1} is JSON", "{\"foo\": 1} is JSON", "", {}},
        {"text after call", l, calls_on(), "{\"name\": \"f\", \"parameters\": {}}\nDone", "Done", "", {{"f", "{}"}}},
        {"reasoning then call", think(family::llama3), calls_on(),
         "<think>hmm</think>\n{\"name\": \"f\", \"parameters\": {\"q\": \"}\"}}", "", "hmm", {{"f", R"({"q":"}"})"}}},
        {"call inside reasoning", think(family::llama3), calls_on(), "<think>{\"name\": \"f\", \"parameters\": {}}</think>No.",
         "No.", "{\"name\": \"f\", \"parameters\": {}}", {}},
        {"malformed python tag", l, calls_on(), "<|python_tag|>brave_search.call(query=\"x\")",
         "<|python_tag|>brave_search.call(query=\"x\")", "", {}, false},
        {"cut off", l, calls_on(), "{\"name\": \"f\", \"parameters\": {\"city\": \"Pa", "", "", {{"f", "{\"city\": \"Pa"}},
         true, true},
        {"cut off before name", l, calls_on(), "{\"name\": \"f", "{\"name\": \"f", "", {}, false},
        {"calls off", l, parse_options{}, "{\"name\": \"f\", \"parameters\": {}}", "{\"name\": \"f\", \"parameters\": {}}", "",
         {}, false},
    });
}

// ---- mistral ----

TEST(OutputParser, Mistral) {
    const auto m = fmt(family::mistral);
    const auto magistral = fmt(family::mistral, reasoning_style::tags, "[THINK]", "[/THINK]");
    check_all({
        {"plain", m, calls_on(), "Bonjour [not a tag].", "Bonjour [not a tag].", "", {}},
        {"nemo one call", m, calls_on(),
         "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abc123def\"}]", "", "",
         {{"get_weather", R"({"city":"Paris"})"}}},
        {"nemo sorted keys with id", m, calls_on(),
         "[TOOL_CALLS][{\"arguments\": {\"a\": 1}, \"id\": \"abc123def\", \"name\": \"f\"}, {\"arguments\": {}, \"id\": \"zzz999yyy\", \"name\": \"g\"}]",
         "", "", {{"f", R"({"a":1})", "abc123def"}, {"g", "{}", "zzz999yyy"}}},
        {"small 3.2 call id", m, calls_on(), "[TOOL_CALLS]get_weather[CALL_ID]abc123def[ARGS]{\"city\": \"Paris\"}", "", "",
         {{"get_weather", R"({"city":"Paris"})", "abc123def"}}},
        {"devstral several", m, calls_on(), "[TOOL_CALLS]a[ARGS]{}[TOOL_CALLS]b[ARGS]{\"x\": [1, \"]\"]}", "", "",
         {{"a", "{}"}, {"b", R"({"x":[1,"]"]})"}}},
        {"content then call", m, calls_on(), "Checking.\n[TOOL_CALLS]f[ARGS]{}", "Checking.\n", "", {{"f", "{}"}}},
        {"reasoning then call", magistral, calls_on(), "[THINK]Need f.[/THINK]\n[TOOL_CALLS]f[ARGS]{\"k\": true}", "",
         "Need f.", {{"f", R"({"k":true})"}}},
        {"call inside reasoning", magistral, calls_on(), "[THINK][TOOL_CALLS]f[ARGS]{}[/THINK]ok", "ok",
         "[TOOL_CALLS]f[ARGS]{}", {}},
        {"malformed", m, calls_on(), "[TOOL_CALLS] hello world", "[TOOL_CALLS] hello world", "", {}, false},
        {"malformed tag", m, calls_on(), "[TOOL_CALLS]f[ARG]{}", "[TOOL_CALLS]f[ARG]{}", "", {}, false},
        {"malformed array", m, calls_on(), "[TOOL_CALLS][{\"x\": 1}]", "[TOOL_CALLS][{\"x\": 1}]", "", {}, false},
        {"cut off", m, calls_on(), "[TOOL_CALLS]f[ARGS]{\"a\": \"b", "", "", {{"f", "{\"a\": \"b"}}, true, true},
        {"cut off nemo", m, calls_on(), "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"a\": 1", "", "",
         {{"f", "{\"a\": 1"}}, true, true},
    });
}

// ---- qwen xml ----

TEST(OutputParser, QwenXml) {
    const auto q = think(family::qwen_xml);
    const std::string call =
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n"
        "</function>\n</tool_call>";
    check_all({
        {"plain", q, calls_on(), "No tools needed: x < y.", "No tools needed: x < y.", "", {}},
        {"one call", q, calls_on(), call, "", "", {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"several calls", q, calls_on(),
         call + "\n<tool_call>\n<function=search>\n<parameter=q>\nline one\n  line \"two\"\n</parameter>\n</function>\n</tool_call>",
         "", "", {{"get_weather", R"({"city":"Paris","days":3})"}, {"search", R"({"q":"line one\n  line \"two\""})"}}},
        {"schema types", q, calls_on(),
         "<tool_call>\n<function=get_weather>\n<parameter=city>\n123\n</parameter>\n<parameter=opts>\n{\"a\": [1]}\n</parameter>\n"
         "<parameter=unknown>\nnot json\n</parameter>\n</function>\n</tool_call>",
         "", "", {{"get_weather", R"({"city":"123","opts":{"a":[1]},"unknown":"not json"})"}}},
        {"no wrapper", q, calls_on(), "Sure.\n<function=search>\n<parameter=q>\nx\n</parameter>\n</function>", "Sure.\n", "",
         {{"search", R"({"q":"x"})"}}},
        {"no parameters", q, calls_on(), "<tool_call>\n<function=f>\n</function>\n</tool_call>", "", "", {{"f", "{}"}}},
        {"content then call", q, calls_on(), "I'll look.\n\n" + call, "I'll look.\n\n", "",
         {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"reasoning then call", q, calls_on(), "<think>\nweather\n</think>\n\n" + call, "", "weather\n",
         {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"empty reasoning then call", q, calls_on(), "<think></think>\n" + call, "", "",
         {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"call inside reasoning", q, calls_on(true), call + "</think>Fine.", "Fine.", call, {}},
        {"malformed", q, calls_on(), "<tool_call>\n<func=x>oops</tool_call>", "<tool_call>\n<func=x>oops</tool_call>", "",
         {}, false},
        {"text after call", q, calls_on(), call + "\nThat's it.", "That's it.", "",
         {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"cut off in value", q, calls_on(), "<tool_call>\n<function=get_weather>\n<parameter=city>\nPar", "", "",
         {{"get_weather", R"({"city":"Par"})"}}, true, true},
        {"cut off in body", q, calls_on(),
         "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<param", "", "",
         {{"get_weather", R"({"city":"Paris"})"}}, true, true},
    });
}

// ---- gemma 4 ----

TEST(OutputParser, Gemma4) {
    const auto g = fmt(family::gemma4, reasoning_style::gemma4);
    const std::string call = "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,days:3}<tool_call|>";
    check_all({
        {"plain", g, calls_on(), "Hello <b>there</b>", "Hello <b>there</b>", "", {}},
        {"empty thought then content", g, calls_on(), "<|channel>thought\n<channel|>Hi!", "Hi!", "", {}},
        {"one call", g, calls_on(), call, "", "", {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"several calls", g, calls_on(),
         call + "<|tool_call>call:search{q:<|\"|>say \"hi\", a\\b\n<|\"|>}<tool_call|>", "", "",
         {{"get_weather", R"({"city":"Paris","days":3})"}, {"search", R"({"q":"say \"hi\", a\\b\n"})"}}},
        {"nested values", g, calls_on(),
         "<|tool_call>call:get_weather{opts:{flag:true,list:[1,<|\"|>x<|\"|>,-2.5e3,None],empty:[]},city:London}<tool_call|>",
         "", "", {{"get_weather", R"({"opts":{"flag":true,"list":[1,"x",-2.5e3,null],"empty":[]},"city":"London"})"}}},
        {"content then call", g, calls_on(), "Checking.\n" + call, "Checking.\n", "",
         {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"reasoning then call", g, calls_on(), "<|channel>thought\nI need weather.<channel|>" + call, "", "I need weather.",
         {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"call inside reasoning", g, calls_on(), "<|channel>thought\n" + call + "<channel|>Done", "Done", call, {}},
        {"malformed", g, calls_on(), "<|tool_call>cal get{}<tool_call|>", "<|tool_call>cal get{}<tool_call|>", "", {},
         false},
        {"text after call", g, calls_on(), call + " Anything else?", "Anything else?", "",
         {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"no arguments", g, calls_on(), "<|tool_call>call:f{}<tool_call|>", "", "", {{"f", "{}"}}},
        {"quoted key", g, calls_on(), "<|tool_call>call:f{<|\"|>a b<|\"|>:1}<tool_call|>", "", "", {{"f", R"({"a b":1})"}}},
        {"cut off", g, calls_on(), "<|tool_call>call:f{a:<|\"|>hel", "", "", {{"f", "{\"a\":\"hel"}}, true, true},
        {"calls off", g, parse_options{}, call, call, "", {}, false},
    });
}

// ---- deepseek r1 ----

TEST(OutputParser, DeepSeekR1) {
    const auto d = think(family::deepseek_r1);
    const std::string one =
        "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>";
    const std::string two = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>search\n```json\n{\"q\": \"```\"}\n```<｜tool▁call▁end｜>";
    const std::string block = "<｜tool▁calls▁begin｜>" + one + "<｜tool▁calls▁end｜>";
    check_all({
        {"plain", d, calls_on(), "The answer is 42.", "The answer is 42.", "", {}},
        {"one call", d, calls_on(), block, "", "", {{"get_weather", R"({"city":"Paris"})"}}},
        {"several calls", d, calls_on(), "<｜tool▁calls▁begin｜>" + one + "\n" + two + "<｜tool▁calls▁end｜>", "", "",
         {{"get_weather", R"({"city":"Paris"})"}, {"search", R"({"q":"```"})"}}},
        {"no outer marker", d, calls_on(), one, "", "", {{"get_weather", R"({"city":"Paris"})"}}},
        {"v3.1 spelling", d, calls_on(), "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{\"a\": 1}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
         "", "", {{"f", R"({"a":1})"}}},
        {"content then call", d, calls_on(), "Let me look.\n\n" + block, "Let me look.\n\n", "",
         {{"get_weather", R"({"city":"Paris"})"}}},
        {"reasoning then call", d, calls_on(true), "The user asks.\n</think>\n\n" + block, "", "The user asks.\n",
         {{"get_weather", R"({"city":"Paris"})"}}},
        {"call inside reasoning", d, calls_on(), "<think>\n" + block + "</think>\n\nNo call.", "No call.", block, {}},
        {"malformed", d, calls_on(), "<｜tool▁calls▁begin｜>garbage", "<｜tool▁calls▁begin｜>garbage", "", {}, false},
        {"text after call", d, calls_on(), block + "\nDone.", "Done.", "", {{"get_weather", R"({"city":"Paris"})"}}},
        {"cut off", d, calls_on(), "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{\"a\": [1,", "",
         "", {{"f", "{\"a\": [1,"}}, true, true},
    });
}

// ---- deepseek v3.2 / v4 ----

TEST(OutputParser, DeepSeekV3) {
    const auto d = think(family::deepseek_v3);
    const std::string v32 =
        "<｜DSML｜function_calls>\n<｜DSML｜invoke name=\"get_weather\">\n"
        "<｜DSML｜parameter name=\"city\" string=\"true\">Paris</｜DSML｜parameter>\n"
        "<｜DSML｜parameter name=\"days\" string=\"false\">3</｜DSML｜parameter>\n"
        "</｜DSML｜invoke>\n</｜DSML｜function_calls>";
    const std::string v4 =
        "<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"search\">\n"
        "<｜DSML｜parameter name=\"q\" string=\"true\">a < b</｜DSML｜parameter>\n</｜DSML｜invoke>\n"
        "<｜DSML｜invoke name=\"get_weather\">\n<｜DSML｜parameter name=\"opts\" string=\"false\">{\"x\": [true]}</｜DSML｜parameter>\n"
        "<｜DSML｜parameter name=\"city\">42</｜DSML｜parameter>\n</｜DSML｜invoke>\n</｜DSML｜tool_calls>";
    check_all({
        {"plain", d, calls_on(), "Plain <answer>.", "Plain <answer>.", "", {}},
        {"one call", d, calls_on(), v32, "", "", {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"several calls v4", d, calls_on(), v4, "", "",
         {{"search", R"({"q":"a < b"})"}, {"get_weather", R"({"opts":{"x":[true]},"city":"42"})"}}},
        {"content then call", d, calls_on(), "Checking.\n\n" + v32, "Checking.\n\n", "",
         {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"reasoning then call", d, calls_on(), "<think>plan</think>\n\n" + v32, "", "plan",
         {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"call inside reasoning", d, calls_on(true), v32 + "</think>Result", "Result", v32, {}},
        {"malformed", d, calls_on(), "<｜DSML｜function_calls>\n<｜DSML｜oops>x", "<｜DSML｜function_calls>\n<｜DSML｜oops>x", "",
         {}, false},
        {"text after call", d, calls_on(), v32 + "\n\nok", "ok", "", {{"get_weather", R"({"city":"Paris","days":3})"}}},
        {"cut off", d, calls_on(),
         "<｜DSML｜function_calls>\n<｜DSML｜invoke name=\"get_weather\">\n<｜DSML｜parameter name=\"city\" string=\"true\">Pa",
         "", "", {{"get_weather", R"({"city":"Pa"})"}}, true, true},
    });
}

// ---- harmony ----

TEST(OutputParser, Harmony) {
    const auto h = fmt(family::harmony, reasoning_style::harmony);
    const std::string call =
        "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";
    check_all({
        {"plain final", h, calls_on(), "<|channel|>final<|message|>Hello!", "Hello!", "", {}},
        {"no headers", h, calls_on(), "Just text.", "Just text.", "", {}},
        {"reasoning then final", h, calls_on(),
         "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Answer.<|return|>",
         "Answer.", "Think.", {}},
        {"reasoning then call", h, calls_on(), "<|channel|>analysis<|message|>Need weather.<|end|>" + call, "", "Need weather.",
         {{"get_weather", R"({"city":"Paris"})"}}},
        {"recipient in role header", h, calls_on(),
         "<|start|>assistant to=functions.search<|channel|>commentary json<|message|>{\"q\": \"x\"}<|call|>", "", "",
         {{"search", R"({"q":"x"})"}}},
        {"several calls", h, calls_on(),
         "<|channel|>commentary to=functions.a <|constrain|>json<|message|>{}<|call|>" + call, "", "",
         {{"a", "{}"}, {"get_weather", R"({"city":"Paris"})"}}},
        {"preamble is content", h, calls_on(), "<|channel|>commentary<|message|>Checking now.<|end|>" + call, "Checking now.",
         "", {{"get_weather", R"({"city":"Paris"})"}}},
        {"call inside reasoning", h, calls_on(),
         "<|channel|>analysis<|message|>call to=functions.x {\"a\":1}<|end|><|start|>assistant<|channel|>final<|message|>No.",
         "No.", "call to=functions.x {\"a\":1}", {}},
        {"starts in reasoning", h, calls_on(true), "hmm<|end|><|start|>assistant<|channel|>final<|message|>A", "A", "hmm", {}},
        {"malformed header", h, calls_on(), "<|start|>" + std::string(600, 'x'), "<|start|>" + std::string(600, 'x'), "",
         {}, false},
        {"cut off", h, calls_on(), "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"a\": \"b", "", "",
         {{"f", "{\"a\": \"b"}}, true, true},
        {"reasoning off", h, reasoning_off(), "<|channel|>analysis<|message|>r<|end|><|start|>assistant<|channel|>final<|message|>A",
         "rA", "", {}},
    });
}

std::vector<output_format> all_formats();
int family_index(const output_format& f) { return static_cast<int>(f.calls); }

// ---- streaming details ----

// Text is held back only while it could still be a marker: a "<" that cannot start one is
// released at once.
TEST(OutputParser, HoldsBackOnlyMarkerPrefixes) {
    auto p = make_output_parser(think(family::hermes), calls_on());
    std::vector<parse_event> ev;
    p->push("Hi <tool", ev);
    ASSERT_EQ(test::merged(ev).size(), 1u);
    EXPECT_EQ(test::merged(ev)[0].text, "Hi ");
    p->push("x", ev);
    EXPECT_EQ(test::merged(ev)[0].text, "Hi <toolx");
}

// A call's name is announced as soon as it is known, and its arguments stream before the
// call ends.
TEST(OutputParser, StreamsArgumentsBeforeTheCallEnds) {
    auto p = make_output_parser(think(family::hermes), calls_on());
    std::vector<parse_event> ev;
    p->push("<tool_call>{\"name\": \"f\", \"arguments\": {\"text\": \"abc", ev);
    const auto m = test::merged(ev);
    ASSERT_EQ(m.size(), 2u) << test::describe(m);
    EXPECT_EQ(m[0].type, parse_event::kind::call_begin);
    EXPECT_EQ(m[0].name, "f");
    EXPECT_EQ(m[1].text, "{\"text\": \"abc");
}

// Events of an earlier push are never changed: the caller may have sent them already.
TEST(OutputParser, NeverAppendsToEarlierPushesEvents) {
    auto p = make_output_parser(think(family::hermes), calls_on());
    std::vector<parse_event> ev;
    p->push("Hello", ev);
    p->push(" world", ev);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].text, "Hello");
    EXPECT_EQ(ev[1].text, " world");
}

TEST(OutputParser, GenericResponseStreamsAcrossEscapes) {
    const std::string out = R"({"response":"\ud83d\ude00 \u00e9\\n\"q\""})";
    const auto whole = test::run(fmt(family::generic), calls_on(), {out});
    ASSERT_EQ(whole.size(), 1u);
    EXPECT_EQ(whole[0].text, "\xF0\x9F\x98\x80 \xC3\xA9\\n\"q\"");
    test::expect_chunking_invariant(fmt(family::generic), calls_on(), out, whole);
}

// Markers inside argument strings and values are data, not syntax.
TEST(OutputParser, MarkersInsideArgumentsAreData) {
    check_all({
        {"hermes string", think(family::hermes), calls_on(),
         "<tool_call>{\"name\": \"f\", \"arguments\": {\"s\": \"</tool_call><tool_call>{\\\"\"}}</tool_call>", "", "",
         {{"f", R"({"s":"</tool_call><tool_call>{\""})"}}},
        {"qwen xml value", think(family::qwen_xml), calls_on(),
         "<tool_call>\n<function=search>\n<parameter=q>\na </param <tool_call> b\n</parameter>\n</function>\n</tool_call>", "",
         "", {{"search", R"({"q":"a </param <tool_call> b"})"}}},
        {"gemma4 string", fmt(family::gemma4, reasoning_style::gemma4), calls_on(),
         "<|tool_call>call:search{q:<|\"|>x}<tool_call|>{<|\"|>}<tool_call|>", "", "", {{"search", R"({"q":"x}<tool_call|>{"})"}}},
        {"dsml value", think(family::deepseek_v3), calls_on(),
         "<｜DSML｜function_calls><｜DSML｜invoke name=\"search\"><｜DSML｜parameter name=\"q\" string=\"true\"></｜DSML｜invoke"
         "</｜DSML｜parameter></｜DSML｜invoke></｜DSML｜function_calls>",
         "", "", {{"search", R"({"q":"</｜DSML｜invoke"})"}}},
    });
}

TEST(OutputParser, ReasoningOffKeepsMarkupAsContent) {
    parse_options o = reasoning_off();
    o.starts_in_reasoning = true;
    check_all({
        {"starts in reasoning", think(family::hermes), o, "a <tool_call>{}</tool_call></think>\n\nb", "a <tool_call>{}</tool_call></think>\n\nb",
         "", {}, false},
        {"gemma4", fmt(family::gemma4, reasoning_style::gemma4), reasoning_off(), "<|channel>thought\nx<channel|>y",
         "<|channel>thought\nx<channel|>y", "", {}, false},
    });
}

// push() is linear in the piece: long content and long arguments in small pieces (a
// quadratic parser would take minutes here).
TEST(OutputParser, LongOutputsStayLinear) {
    const std::string text(1 << 18, 'a');
    const std::string long_value(1 << 18, 'v');
    const std::vector<std::pair<output_format, std::string>> outputs = {
        {think(family::hermes), "<tool_call>{\"name\": \"f\", \"arguments\": {\"s\": \"" + long_value + "\"}}</tool_call>"},
        {think(family::qwen_xml), "<tool_call>\n<function=f>\n<parameter=s>\n" + long_value + "\n</parameter>\n</function>"},
        {fmt(family::gemma4, reasoning_style::gemma4), "<|tool_call>call:f{s:<|\"|>" + long_value + "<|\"|>}<tool_call|>"},
        {think(family::deepseek_v3), "<｜DSML｜tool_calls><｜DSML｜invoke name=\"f\"><｜DSML｜parameter name=\"s\" string=\"true\">" +
                                         long_value + "</｜DSML｜parameter></｜DSML｜invoke></｜DSML｜tool_calls>"},
        {fmt(family::harmony, reasoning_style::harmony),
         "<|channel|>commentary to=functions.f<|message|>{\"s\": \"" + long_value + "\"}<|call|>"},
    };
    for (const auto& f : all_formats()) {
        auto p = make_output_parser(f, calls_on());
        std::vector<parse_event> ev;
        for (std::size_t at = 0; at < text.size(); at += 7) p->push(std::string_view(text).substr(at, 7), ev);
        p->finish(ev);
        const auto m = test::merged(ev);
        ASSERT_EQ(m.size(), 1u);
        EXPECT_EQ(m[0].text.size(), text.size());
    }
    for (const auto& [f, out] : outputs) {
        auto p = make_output_parser(f, calls_on());
        std::vector<parse_event> ev;
        for (std::size_t at = 0; at < out.size(); at += 5) p->push(std::string_view(out).substr(at, 5), ev);
        p->finish(ev);
        const auto m = test::merged(ev);
        ASSERT_EQ(m.size(), 3u) << family_index(f);
        const auto args = boost::json::parse(m[1].text);
        EXPECT_EQ(args.at("s").as_string().size(), long_value.size());
    }
}

// ---- round trip: random calls written in each family's syntax parse back to themselves ----

struct random_call {
    std::string name;
    boost::json::object args;
};

class call_generator {
public:
    explicit call_generator(unsigned seed) : rng_(seed) {}

    std::vector<random_call> calls() {
        std::vector<random_call> out(1 + rng_() % 3);
        std::vector<std::string> names = {"get_weather", "search", "run_cmd", "f"};
        std::shuffle(names.begin(), names.end(), rng_);
        for (std::size_t n = 0; n < out.size(); ++n) {
            auto& c = out[n];
            c.name = names[n];  // distinct: each name has one schema
            const int keys = static_cast<int>(rng_() % 4);
            for (int i = 0; i < keys; ++i) c.args[pick({"city", "q", "n", "opts", "flag", "list", "x_y"})] = value(0);
        }
        return out;
    }

private:
    std::string pick(std::initializer_list<const char*> items) {
        auto it = items.begin();
        std::advance(it, rng_() % items.size());
        return *it;
    }

    boost::json::value value(int depth) {
        switch (rng_() % (depth < 2 ? 7 : 5)) {
        case 0:
        case 1: return boost::json::string(text());
        case 2: return static_cast<std::int64_t>(static_cast<int>(rng_() % 2001) - 1000);
        case 3: return rng_() % 2 == 0;
        case 4: return nullptr;
        case 5: {
            boost::json::object o;
            for (int i = static_cast<int>(rng_() % 3); i > 0; --i) o[pick({"a", "b", "c_d"})] = value(depth + 1);
            return o;
        }
        default: {
            boost::json::array a;
            for (int i = static_cast<int>(rng_() % 3); i > 0; --i) a.push_back(value(depth + 1));
            return a;
        }
        }
    }

    std::string text() {
        static const char* pieces[] = {"Paris", " ", "a\"b", "back\\slash", "{", "}", "[", "]", ",", ":", "\xC3\xA9",
                                       "\xF0\x9F\x98\x80", "\n", "\t", "<b>", "x < y", "12", "true", "'"};
        std::string s;
        for (int i = static_cast<int>(rng_() % 5); i > 0; --i) s += pieces[rng_() % std::size(pieces)];
        return s;
    }

    std::mt19937 rng_;
};

std::string gemma_value(const boost::json::value& v) {
    if (v.is_string()) return "<|\"|>" + std::string(v.as_string()) + "<|\"|>";
    if (v.is_object()) {
        std::string s = "{";
        bool first = true;
        for (const auto& kv : v.as_object()) {
            if (!first) s += ",";
            first = false;
            s += std::string(kv.key()) + ":" + gemma_value(kv.value());
        }
        return s + "}";
    }
    if (v.is_array()) {
        std::string s = "[";
        for (std::size_t i = 0; i < v.as_array().size(); ++i) s += (i ? "," : "") + gemma_value(v.as_array()[i]);
        return s + "]";
    }
    if (v.is_null()) return "None";
    return boost::json::serialize(v);
}

// The calls as `f` writes them (tests the parser against the templates' syntax).
std::string write_calls(family f, const std::vector<random_call>& calls, unsigned variant) {
    std::string s;
    auto args = [](const random_call& c) { return boost::json::serialize(c.args); };
    for (std::size_t i = 0; i < calls.size(); ++i) {
        const auto& c = calls[i];
        switch (f) {
        case family::hermes:
            s += (i ? "\n" : "") + std::string("<tool_call>\n{\"name\": \"") + c.name + "\", \"arguments\": " + args(c) +
                 "}\n</tool_call>";
            break;
        case family::llama3:
            s += (i ? "; " : "") + std::string("{\"name\": \"") + c.name + "\", \"parameters\": " + args(c) + "}";
            break;
        case family::mistral:
            if (variant % 2 == 0) {
                s += "[TOOL_CALLS]" + c.name + (variant % 4 == 0 ? "[CALL_ID]a1b2c3d4e" : "") + "[ARGS]" + args(c);
            } else {
                s += (i ? ", " : "[TOOL_CALLS][") + std::string("{\"name\": \"") + c.name + "\", \"arguments\": " + args(c) +
                     ", \"id\": \"a1b2c3d4e\"}" + (i + 1 == calls.size() ? "]" : "");
            }
            break;
        case family::qwen_xml:
            s += (i ? "\n" : "") + std::string("<tool_call>\n<function=") + c.name + ">\n";
            for (const auto& kv : c.args) {
                const auto& v = kv.value();
                s += "<parameter=" + std::string(kv.key()) + ">\n" +
                     (v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v)) + "\n</parameter>\n";
            }
            s += "</function>\n</tool_call>";
            break;
        case family::gemma4: s += "<|tool_call>call:" + c.name + gemma_value(c.args) + "<tool_call|>"; break;
        case family::deepseek_r1:
            s += (i ? "\n" : "<｜tool▁calls▁begin｜>") + std::string("<｜tool▁call▁begin｜>function<｜tool▁sep｜>") + c.name +
                 "\n```json\n" + args(c) + "\n```<｜tool▁call▁end｜>" + (i + 1 == calls.size() ? "<｜tool▁calls▁end｜>" : "");
            break;
        case family::deepseek_v3: {
            const std::string block = variant % 2 ? "tool_calls" : "function_calls";
            s += (i ? "" : "<｜DSML｜" + block + ">\n") + std::string("<｜DSML｜invoke name=\"") + c.name + "\">\n";
            for (const auto& kv : c.args) {
                const auto& v = kv.value();
                s += "<｜DSML｜parameter name=\"" + std::string(kv.key()) + "\" string=\"" + (v.is_string() ? "true" : "false") +
                     "\">" + (v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v)) + "</｜DSML｜parameter>\n";
            }
            s += "</｜DSML｜invoke>\n" + (i + 1 == calls.size() ? "</｜DSML｜" + block + ">" : std::string());
            break;
        }
        case family::harmony:
            s += "<|start|>assistant<|channel|>commentary to=functions." + c.name + " <|constrain|>json<|message|>" + args(c) +
                 "<|call|>";
            break;
        case family::generic:
            s += (i ? ", " : "{\"tool_calls\": [") + std::string("{\"name\": \"") + c.name + "\", \"arguments\": " + args(c) +
                 "}" + (i + 1 == calls.size() ? "]}" : "");
            break;
        }
    }
    return s;
}

// Each generated call's string-valued top-level parameters are typed "string" in its tool.
std::vector<tool_def> tools_for(const std::vector<random_call>& calls) {
    std::vector<tool_def> tools;
    for (const auto& c : calls) {
        tool_def t;
        t.name = c.name;
        boost::json::object props;
        for (const auto& kv : c.args) {
            if (kv.value().is_string()) props[kv.key()] = boost::json::object{{"type", "string"}};
        }
        t.parameters = boost::json::object{{"type", "object"}, {"properties", props}};
        tools.push_back(std::move(t));
    }
    return tools;
}

TEST(OutputParser, RandomCallsRoundTrip) {
    const std::vector<output_format> formats = {
        fmt(family::generic),    think(family::hermes),      fmt(family::llama3),
        fmt(family::mistral),    think(family::qwen_xml),    fmt(family::gemma4, reasoning_style::gemma4),
        think(family::deepseek_r1), think(family::deepseek_v3), fmt(family::harmony, reasoning_style::harmony)};
    call_generator gen(7);
    std::mt19937 rng(8);
    for (const auto& f : formats) {
        for (unsigned round = 0; round < 300; ++round) {
            const auto calls = gen.calls();
            std::string text = write_calls(f.calls, calls, round);
            std::string reasoning;
            if (round % 3 == 1 && f.calls != family::generic) {
                reasoning = "think about <b>it</b>";
                if (f.reasoning == reasoning_style::tags) text = "<think>\n" + reasoning + "</think>\n\n" + text;
                if (f.reasoning == reasoning_style::gemma4) text = "<|channel>thought\n" + reasoning + "<channel|>" + text;
                if (f.reasoning == reasoning_style::harmony)
                    text = "<|channel|>analysis<|message|>" + reasoning + "<|end|>" + text;
                if (f.reasoning == reasoning_style::none) reasoning.clear();
            }
            parse_options o = calls_on();
            o.tools = tools_for(calls);
            SCOPED_TRACE(text);
            const auto events = test::run(f, o, {text});
            test::expect_well_formed(events);
            std::vector<random_call> got;
            std::string got_reasoning, content;
            std::vector<std::string> args;
            for (const auto& e : events) {
                if (e.type == parse_event::kind::call_begin) {
                    got.push_back({e.name, {}});
                    args.emplace_back();
                }
                if (e.type == parse_event::kind::call_arguments) args.back() += e.text;
                if (e.type == parse_event::kind::reasoning) got_reasoning += e.text;
                if (e.type == parse_event::kind::content) content += e.text;
            }
            EXPECT_EQ(content, "");
            EXPECT_EQ(got_reasoning, reasoning);
            ASSERT_EQ(got.size(), calls.size()) << test::describe(events);
            for (std::size_t i = 0; i < calls.size(); ++i) {
                EXPECT_EQ(got[i].name, calls[i].name);
                boost::system::error_code ec;
                const auto v = boost::json::parse(args[i], ec);
                ASSERT_FALSE(ec) << args[i];
                EXPECT_EQ(v, boost::json::value(calls[i].args)) << args[i];
            }
            for (int k = 0; k < 3; ++k) {
                const std::size_t at = rng() % (text.size() + 1);
                ASSERT_TRUE(test::same(test::run(f, o, {std::string_view(text).substr(0, at), std::string_view(text).substr(at)}),
                                       events))
                    << "split at " << at;
            }
            ASSERT_TRUE(test::same(test::run_bytewise(f, o, text), events));
        }
    }
}

// ---- fuzz ----

std::vector<output_format> all_formats() {
    return {fmt(family::generic),        think(family::generic),       think(family::hermes),
            fmt(family::llama3),         think(family::llama3),        fmt(family::mistral),
            think(family::qwen_xml),     fmt(family::gemma4, reasoning_style::gemma4),
            think(family::deepseek_r1),  think(family::deepseek_v3),   fmt(family::harmony, reasoning_style::harmony)};
}

const std::vector<std::string>& soup_pieces() {
    static const std::vector<std::string> pieces = {
        "<think>", "</think>", "<tool_call>", "</tool_call>", "{", "}", "[", "]", "\"", "\\", ":", ",", " ", "\n",
        "\"name\"", "\"arguments\"", "\"parameters\"", "\"f\"", "\"tool_calls\"", "\"response\"", "\\u00e9", "\\ud83d",
        "<|python_tag|>", "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "<function=f>", "</function>", "<parameter=q>",
        "</parameter>", "<|tool_call>", "call:f", "<tool_call|>", "<|\"|>", "<|channel>thought", "<channel|>",
        "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "function", "<｜tool▁sep｜>", "```json", "<｜tool▁call▁end｜>",
        "<｜tool▁calls▁end｜>", "<｜DSML｜function_calls>", "<｜DSML｜invoke name=\"f\">",
        "<｜DSML｜parameter name=\"q\" string=\"true\">", "</｜DSML｜parameter>", "</｜DSML｜invoke>",
        "</｜DSML｜function_calls>", "<|channel|>", "analysis", "final", "commentary to=functions.f", "<|message|>",
        "<|end|>", "<|call|>", "<|start|>", "assistant", "x", "12", "true", "None", "\xE2\x96", "<", ">", "|"};
    return pieces;
}

TEST(OutputParser, RandomBytesNeverThrow) {
    std::mt19937 rng(1234);
    for (const auto& f : all_formats()) {
        for (int round = 0; round < 60; ++round) {
            std::string text(rng() % 200, '\0');
            for (auto& ch : text) ch = static_cast<char>(rng() % 256);
            for (bool reasoning : {true, false}) {
                parse_options o = calls_on(round % 3 == 0);
                o.parse_reasoning = reasoning;
                std::vector<parse_event> ev;
                auto p = make_output_parser(f, o);
                std::size_t at = 0;
                while (at < text.size()) {
                    const std::size_t n = std::min<std::size_t>(text.size() - at, 1 + rng() % 7);
                    ASSERT_NO_THROW(p->push(std::string_view(text).substr(at, n), ev));
                    at += n;
                }
                ASSERT_NO_THROW(p->finish(ev));
                test::expect_well_formed(test::merged(ev));
            }
        }
    }
}

// Random mixtures of every family's markers: never throw, a well-formed stream, and the same
// events for any split.
TEST(OutputParser, MarkerSoupIsChunkingInvariant) {
    std::mt19937 rng(99);
    const auto& pieces = soup_pieces();
    for (const auto& f : all_formats()) {
        for (int round = 0; round < 200; ++round) {
            std::string text;
            const int n = 1 + static_cast<int>(rng() % 24);
            for (int i = 0; i < n; ++i) text += pieces[rng() % pieces.size()];
            parse_options o = calls_on(round % 4 == 0);
            o.parse_reasoning = round % 5 != 0;
            o.parse_calls = round % 7 != 0;
            SCOPED_TRACE(text);
            std::vector<parse_event> whole;
            ASSERT_NO_THROW(whole = test::run(f, o, {text}));
            test::expect_well_formed(whole);
            test::expect_chunking_invariant(f, o, text, whole);
        }
    }
}

}  // namespace
}  // namespace sluice::tools
