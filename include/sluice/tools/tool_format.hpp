// Tool calling and reasoning as a model writes them. Each model family spells a tool call
// its own way (Hermes' <tool_call>{json}</tool_call>, Llama 3's bare JSON, Mistral's
// [TOOL_CALLS], ...) and marks reasoning its own way (<think>...</think>, harmony channels).
// output_format says which, detected once per model from its chat template source and
// vocabulary; docs/tools.md has the table of families and how each is detected.
//
// Pure data and pure functions: safe to share between threads.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::tools {

enum class family {
    generic,      // no native tool syntax: a JSON envelope {"tool_calls":[{"name":..,"arguments":{..}},..]} / {"response": "..."}
    hermes,       // Hermes 2/3, Qwen 2.5, Qwen 3, QwQ: <tool_call>\n{"name":..,"arguments":{..}}\n</tool_call>, one block per call
    llama3,       // Llama 3.1-3.3: {"name":..,"parameters":{..}} as the whole output, or after <|python_tag|>;
                  // several calls separated by ";" or whitespace
    mistral,      // Mistral Nemo: [TOOL_CALLS][{"name":..,"arguments":{..},"id":".."}, ...]
                  // Mistral Small 3.2 / Devstral: [TOOL_CALLS]NAME[CALL_ID]ID[ARGS]{..} per call ([CALL_ID] optional)
    qwen_xml,     // Qwen 3.5, Qwen3-Coder, Nemotron 3, Step 3.5: <tool_call>\n<function=NAME>\n<parameter=K>\nV\n</parameter>\n</function>\n</tool_call>
    gemma4,       // Gemma 4: <|tool_call>call:NAME{k:<|"|>v<|"|>,n:1,o:{..},l:[..]}<tool_call|> (bare keys, <|"|> quotes strings)
    deepseek_r1,  // DeepSeek R1: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{..}\n```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
    deepseek_v3,  // DeepSeek V3.2 / V4 DSML: <｜DSML｜function_calls> (V4: <｜DSML｜tool_calls>)<｜DSML｜invoke name="NAME"><｜DSML｜parameter name="K" string="true|false">V</｜DSML｜parameter></｜DSML｜invoke></｜DSML｜function_calls> (V4: </｜DSML｜tool_calls>)
    harmony,      // gpt-oss: <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{..}<|call|>
};

// The family's name as docs/tools.md and logs spell it ("hermes", "llama3", ...).
const char* family_name(family f) noexcept;

// How reasoning is marked.
enum class reasoning_style {
    none,      // the template has no reasoning markup
    tags,      // think_open ... think_close (Qwen 3, QwQ, Qwen 3.5, DeepSeek R1, ...)
    harmony,   // gpt-oss channels: analysis = reasoning, final = answer, commentary = calls
    gemma4,    // Gemma 4: <|channel>thought\n ... <channel|>
};

struct output_format {
    family calls = family::generic;
    // The template itself renders `tools` (and assistant tool_calls / tool results). False for
    // the generic family: the tools are then described in a system message sluice writes.
    bool template_renders_tools = false;
    // The template expects tool_calls[i].function.arguments as an object, not a JSON string.
    bool arguments_as_object = false;
    reasoning_style reasoning = reasoning_style::none;
    std::string think_open, think_close;  // reasoning_style::tags: e.g. "<think>", "</think>"
};

// `template_source`: the chat template text; `is_token`: whether the vocabulary has a token
// whose text is exactly the argument (special tokens such as <|python_tag|>).
output_format detect_format(std::string_view template_source, const std::function<bool(std::string_view)>& is_token);

// One function tool of a request.
struct tool_def {
    std::string name;
    std::string description;
    boost::json::value parameters;  // a JSON Schema (an object); {"type":"object"} when absent
    bool strict = false;
};

}  // namespace sluice::tools
