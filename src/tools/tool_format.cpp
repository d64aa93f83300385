// Detecting a model's tool-call and reasoning syntax from its chat template. The template is
// what the model was trained to read, and the way it renders an assistant's earlier tool
// calls is the way the model writes new ones; docs/tools.md has the table.
#include "sluice/tools/tool_format.hpp"

namespace sluice::tools {
namespace {

bool has(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

family detect_family(std::string_view src, const std::function<bool(std::string_view)>& is_token) {
    if (has(src, "<|channel|>") && has(src, "to=functions")) return family::harmony;
    if (has(src, "<|tool_call>")) return family::gemma4;
    if (has(src, "DSML")) return family::deepseek_v3;
    if (has(src, "tool\u2581calls\u2581begin")) return family::deepseek_r1;
    if (has(src, "[TOOL_CALLS]")) return family::mistral;
    if (has(src, "<tool_call>") && has(src, "<function=") && has(src, "<parameter=")) return family::qwen_xml;
    // Hermes-style JSON inside <tool_call> tags; templates with other markup inside the tags
    // (GLM's <arg_key>, MiniMax's <invoke>) are not this family.
    if (has(src, "<tool_call>") && !has(src, "<arg_key>") && !has(src, "<invoke")) return family::hermes;
    if (has(src, "<|start_header_id|>") && has(src, "tools") &&
        (has(src, "<|python_tag|>") || has(src, "\"parameters\"") || is_token("<|python_tag|>"))) {
        return family::llama3;
    }
    return family::generic;
}

}  // namespace

const char* family_name(family f) noexcept {
    switch (f) {
        case family::generic: return "generic";
        case family::hermes: return "hermes";
        case family::llama3: return "llama3";
        case family::mistral: return "mistral";
        case family::qwen_xml: return "qwen_xml";
        case family::gemma4: return "gemma4";
        case family::deepseek_r1: return "deepseek_r1";
        case family::deepseek_v3: return "deepseek_v3";
        case family::harmony: return "harmony";
    }
    return "generic";
}

output_format detect_format(std::string_view src, const std::function<bool(std::string_view)>& is_token) {
    output_format f;
    f.calls = detect_family(src, is_token);
    f.template_renders_tools = f.calls != family::generic;
    // Chat templates are written for Hugging Face's message shape, where a call's arguments
    // are an object (they tojson it, iterate over it, or test its type); the OpenAI wire
    // format's JSON text is parsed back into one (tests/unit/http/chat_prompt_test.cpp renders
    // every shared template's tool round trip this way).
    f.arguments_as_object = f.template_renders_tools;
    if (f.calls == family::harmony) {
        f.reasoning = reasoning_style::harmony;
    } else if (has(src, "<|channel>")) {
        f.reasoning = reasoning_style::gemma4;
    } else if (has(src, "<think>") || has(src, "</think>")) {
        f.reasoning = reasoning_style::tags;
        f.think_open = "<think>";
        f.think_close = "</think>";
    }
    return f;
}

}  // namespace sluice::tools
