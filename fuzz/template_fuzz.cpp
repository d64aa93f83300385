// Fuzzes the template parser and renderer: the input is a template source, rendered
// with a fixed conversation under small bounds. Only template_error may escape.
#include <boost/json/parse.hpp>
#include <string>

#include "fuzz_target.hpp"
#include "sluice/chat/jinja.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sluice::chat;
    static const value context = value::from_json(boost::json::parse(R"({
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi ü"},
                     {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]},
                     {"role": "tool", "content": "42"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})"));
    render_options opt;
    opt.max_steps = 20000;
    opt.max_output = 1 << 16;
    opt.max_depth = 32;
    std::tm t{};
    t.tm_year = 124;
    opt.fixed_time = t;
    try {
        const auto tmpl = jinja_template::parse(std::string(reinterpret_cast<const char*>(data), size));
        (void)tmpl.render(context, opt);
    } catch (const template_error&) {
    }
    return 0;
}
