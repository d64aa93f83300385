// Fuzzes the tool-call / reasoning output parsers (src/tools): the first byte picks the
// family and options, the rest is model output. No exception may escape; pushing the text
// whole and split into pieces (sizes from the input) gives the same events once adjacent
// text is merged; call events are well formed (call_begin numbered 0, 1, ...; arguments and
// call_end only for a begun call).
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "fuzz_target.hpp"
#include "sluice/tools/output_parser.hpp"

namespace {

using namespace sluice::tools;

std::vector<parse_event> merged(std::vector<parse_event> in) {
    std::vector<parse_event> out;
    for (auto& e : in) {
        const bool text = e.type == parse_event::kind::content || e.type == parse_event::kind::reasoning ||
                          e.type == parse_event::kind::call_arguments;
        if (text && e.text.empty()) continue;
        if (text && !out.empty() && out.back().type == e.type && out.back().index == e.index) {
            out.back().text += e.text;
        } else {
            out.push_back(std::move(e));
        }
    }
    return out;
}

bool same(const std::vector<parse_event>& a, const std::vector<parse_event>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].type != b[i].type || a[i].text != b[i].text || a[i].name != b[i].name || a[i].index != b[i].index) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t sel = data[0];
    const std::uint8_t split = data[1];
    const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
    output_format fmt;
    fmt.calls = static_cast<family>(sel % 9);
    fmt.template_renders_tools = fmt.calls != family::generic;
    switch ((sel / 9) % 4) {
        case 0: break;
        case 1:
            fmt.reasoning = reasoning_style::tags;
            fmt.think_open = "<think>";
            fmt.think_close = "</think>";
            break;
        case 2: fmt.reasoning = reasoning_style::harmony; break;
        default: fmt.reasoning = reasoning_style::gemma4; break;
    }
    parse_options opt;
    opt.parse_calls = (sel & 0x40) == 0;
    opt.parse_reasoning = (sel & 0x80) == 0;
    opt.starts_in_reasoning = (split & 1) != 0;
    tool_def t;
    t.name = "f";
    t.parameters = boost::json::parse(R"({"type":"object","properties":{"s":{"type":"string"},"n":{"type":"integer"}}})");
    opt.tools = {t};

    std::vector<parse_event> whole, pieces;
    auto a = make_output_parser(fmt, opt);
    a->push(text, whole);
    a->finish(whole);
    auto b = make_output_parser(fmt, opt);
    const std::size_t step = 1 + split % 7;
    for (std::size_t i = 0; i < text.size(); i += step) b->push(text.substr(i, step), pieces);
    b->finish(pieces);
    whole = merged(std::move(whole));
    if (!same(whole, merged(std::move(pieces)))) std::abort();
    std::size_t calls = 0;
    bool open = false;
    for (const auto& e : whole) {
        if (e.type == parse_event::kind::call_begin) {
            if (open || e.index != calls) std::abort();
            open = true;
            ++calls;
        } else if (e.type == parse_event::kind::call_arguments) {
            if (!open || e.index + 1 != calls) std::abort();
        } else if (e.type == parse_event::kind::call_end) {
            if (!open || e.index + 1 != calls) std::abort();
            open = false;
        }
    }
    if (open) std::abort();  // finish() ends every begun call
    return 0;
}
