// Enforcing tool_choice with the constraint engine. For a request's tools, tool choice and
// parallel_tool_calls, builds the grammar that makes the output well-formed calls in the
// model family's syntax, with each call's arguments valid against its tool's `parameters`:
//   "required" / a named function: the grammar applies from the first token (the model
//       cannot answer in prose); optional reasoning first where the template allows it.
//   "auto": a lazy grammar that applies from the moment the model starts a call (the
//       family's trigger words), so free text stays free.
//   "none": nothing (and calls are not parsed).
// Families whose call syntax sluice has no grammar for (see docs/tools.md) fall back, for
// "required" and named choices, to the generic JSON envelope, which the request then parses.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/tools/tool_format.hpp"

namespace sluice::tools {

enum class choice_mode { none, automatic, required, named };

struct tool_choice {
    choice_mode mode = choice_mode::automatic;
    std::string name;  // named: the function
};

// Where the output starts relative to the template's reasoning block.
enum class reasoning_start {
    none,      // no reasoning markup, or the prompt closed it (thinking disabled): answer directly
    optional,  // the model may open a reasoning block first
    inside,    // the prompt opened the block: the output starts as reasoning
};

// From the rendered prompt: inside when its last think_open is not closed; none when the
// last assistant reasoning block is closed at the very end (thinking disabled); else optional.
reasoning_start reasoning_at_start(const output_format& fmt, std::string_view prompt);

struct call_constraint {
    std::string gbnf;                         // "" when nothing is enforced
    bool lazy = false;                        // applies only from a trigger word on
    std::vector<std::string> triggers;        // lazy: words that start a call anywhere
    std::vector<std::string> start_triggers;  // lazy: words that start a call at the output's start
    family parse_as = family::generic;        // the syntax the grammar writes (the parser to use)
};

// Throws grammar::schema_error (from a tool's parameters) or std::invalid_argument (a named
// tool that is not among `tools`).
call_constraint build_call_constraint(const output_format& fmt, const std::vector<tool_def>& tools, const tool_choice& choice,
                                      bool parallel, reasoning_start start);

// The special tokens (by text) a family writes its calls and reasoning with: a grammar may
// produce them (they are otherwise never sampled under a grammar).
std::vector<std::string> markup_tokens(const output_format& fmt);

// The system message that describes the tools and the JSON envelope to a model whose
// template cannot render tools (family::generic).
std::string generic_tools_prompt(const std::vector<tool_def>& tools, const tool_choice& choice, bool parallel);

}  // namespace sluice::tools
