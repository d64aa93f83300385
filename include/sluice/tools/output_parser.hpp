// Parses a model's output, as it streams, into content, reasoning and tool calls.
//
// The parser sees the decoded text of the generated tokens (special tokens rendered as their
// text, end-of-generation tokens never) in pieces of any size, and emits events:
//   content / reasoning    text for message.content / message.reasoning_content
//   call_begin             a tool call starts: its function name (and the id the model wrote,
//                          for formats that have one; "" otherwise)
//   call_arguments         a fragment of the call's arguments; a call's fragments concatenate
//                          to its arguments as JSON object text
//   call_end               the call is complete
// Contracts:
// - Chunking never changes the result: pushing the same text in any split gives the same
//   events once adjacent content/reasoning/argument fragments are merged. Within one push()
//   or finish() they already are: adjacent text of one kind is one event.
// - Markup never leaks: call and reasoning markers do not appear in content. Text is held back
//   only while it could still be the start of a marker or of a call whose name is not known yet.
// - A malformed call (markup that does not continue as the family's syntax before its name is
//   known) becomes content, never an exception. A call whose name was emitted and that is cut
//   off (max_tokens) gets call_end at finish(), its arguments as far as they came.
// - A tool-call-looking text inside reasoning is reasoning, not a call.
// - Whitespace between calls, and between reasoning and calls, is not content (no stray
//   "\n\n" next to tool_calls).
//
// Not thread-safe: one parser per generation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/tools/tool_format.hpp"

namespace sluice::tools {

struct parse_event {
    enum class kind { content, reasoning, call_begin, call_arguments, call_end };
    kind type = kind::content;
    std::string text;        // content, reasoning, or an arguments fragment
    std::string name;        // call_begin: the function name
    std::string id;          // call_begin: the call id the model wrote (Mistral), else ""
    std::size_t index = 0;   // call_begin / call_arguments / call_end: the call's index, from 0
};

struct parse_options {
    // Tools were offered and tool_choice is not "none": parse calls. False: call markup is
    // content like any other text.
    bool parse_calls = false;
    // Split reasoning from content (reasoning_format other than "none"). False: reasoning
    // markup and text stay in content as the model wrote them.
    // (A call written inside that reasoning block is not parsed either: the block passes
    // through verbatim. gpt-oss: analysis text becomes content, its headers dropped.)
    bool parse_reasoning = true;
    // The prompt already opened the reasoning block (the template's generation prompt ends
    // inside <think>): the output starts as reasoning.
    bool starts_in_reasoning = false;
    // The offered tools: formats that write raw argument values (qwen_xml, deepseek_v3) use
    // each parameter's schema type to turn values into JSON (a "string" parameter's value is a
    // JSON string; others are JSON when they parse as JSON, else a string).
    std::vector<tool_def> tools;
};

class output_parser {
public:
    virtual ~output_parser() = default;
    // The next piece of output text. Appends the events it completes to `out`.
    virtual void push(std::string_view text, std::vector<parse_event>& out) = 0;
    // The output ended (end of generation, stop string or max_tokens): releases held text
    // as content (or reasoning) and ends an open call.
    virtual void finish(std::vector<parse_event>& out) = 0;
};

std::unique_ptr<output_parser> make_output_parser(const output_format& format, const parse_options& options);

}  // namespace sluice::tools
