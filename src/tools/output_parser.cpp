// make_output_parser: the reasoning layer (think tags, Gemma 4's thought channel) in front
// of the family's call scanner (parse_<family>.cpp); gpt-oss harmony has its own parser.
//
// Reasoning is recognised only at the start of the output (after whitespace), or from the
// first byte with parse_options::starts_in_reasoning. Its leading whitespace, and the
// whitespace after its end marker, are dropped. With parse_reasoning false the reasoning
// block (markers and text) is passed through as content as the model wrote it, and the call
// scanner never sees it: a call written inside reasoning is not a call either way.
// Whitespace at the very start of the output is layout too and never becomes content.
#include "sluice/tools/output_parser.hpp"

#include "parse_common.hpp"

namespace sluice::tools {
namespace {

using detail::call_scanner;
using detail::event_writer;
using detail::marker_matcher;

class plain_scanner final : public call_scanner {
public:
    explicit plain_scanner(event_writer& w) : w_(w) {}
    void feed(char c) override { w_.content(std::string_view(&c, 1)); }
    void finish() override {}

private:
    event_writer& w_;
};

class layered_parser final : public output_parser {
public:
    layered_parser(const output_format& format, const parse_options& options)
        : options_(options),
          parse_reasoning_(options.parse_reasoning),
          open_(std::vector<std::string>{open_marker(format)}),
          close_(std::vector<std::string>{close_marker(format)}) {
        calls_ = options.parse_calls ? make_scanner(format, options_) : detail::make_plain_scanner(w_);
        const bool has_open = !open_.marker(0).empty();
        const bool has_close = !close_.marker(0).empty();
        if (!has_close) state_ = state::content;
        else if (options.starts_in_reasoning) enter_reasoning();
        else if (!has_open) state_ = state::content;
    }

    void push(std::string_view text, std::vector<parse_event>& out) override {
        w_.bind(&out);
        for (char c : text) feed(c);
        w_.bind(nullptr);
    }

    void finish(std::vector<parse_event>& out) override {
        w_.bind(&out);
        if (state_ == state::start) {
            forward(start_space_ + open_.held());
        } else if (state_ == state::reasoning) {
            think(close_.held());
        }
        state_ = state::content;
        calls_->finish();
        w_.bind(nullptr);
    }

private:
    enum class state { start, reasoning, content };

    static std::string open_marker(const output_format& f) {
        if (f.reasoning == reasoning_style::gemma4) return "<|channel>thought";
        if (f.reasoning == reasoning_style::tags) return f.think_open;
        return {};
    }
    static std::string close_marker(const output_format& f) {
        if (f.reasoning == reasoning_style::gemma4) return "<channel|>";
        if (f.reasoning == reasoning_style::tags) return f.think_close;
        return {};
    }

    std::unique_ptr<call_scanner> make_scanner(const output_format& f, const parse_options& o) {
        switch (f.calls) {
        case family::generic: return detail::make_generic_scanner(w_);
        case family::hermes: return detail::make_hermes_scanner(w_);
        case family::llama3: return detail::make_llama3_scanner(w_);
        case family::mistral: return detail::make_mistral_scanner(w_);
        case family::qwen_xml: return detail::make_qwen_xml_scanner(w_, o);
        case family::gemma4: return detail::make_gemma4_scanner(w_, o);
        case family::deepseek_r1: return detail::make_deepseek_r1_scanner(w_);
        case family::deepseek_v3: return detail::make_deepseek_v3_scanner(w_, o);
        case family::harmony: break;
        }
        return detail::make_plain_scanner(w_);
    }

    void enter_reasoning() {
        state_ = state::reasoning;
        if (parse_reasoning_) w_.drop_leading_reasoning_space();
    }

    void think(std::string_view text) {
        if (parse_reasoning_) w_.reasoning(text);
        else w_.content(text);
    }

    void forward(std::string_view text) {
        for (char c : text) calls_->feed(c);
    }

    void feed(char c) {
        switch (state_) {
        case state::start: {
            if (detail::is_space(c) && open_.held().empty()) {
                start_space_.push_back(c);
                return;
            }
            scratch_.clear();
            if (open_.feed(c, scratch_) == 0) {
                if (!parse_reasoning_) w_.content(start_space_ + open_.marker(0));
                start_space_.clear();
                enter_reasoning();
            } else if (!scratch_.empty()) {
                state_ = state::content;
                forward(start_space_ + scratch_ + open_.held());
                start_space_.clear();
                open_.clear();
            }
            return;
        }
        case state::reasoning: {
            scratch_.clear();
            const int k = close_.feed(c, scratch_);
            think(scratch_);
            if (k == 0) {
                state_ = state::content;
                if (parse_reasoning_) w_.drop_leading_content_space();
                else w_.content(close_.marker(0));
            }
            return;
        }
        case state::content:
            calls_->feed(c);
            return;
        }
    }

    parse_options options_;  // the scanners keep a reference
    bool parse_reasoning_;
    event_writer w_;
    std::unique_ptr<call_scanner> calls_;
    marker_matcher open_, close_;
    state state_ = state::start;
    std::string start_space_, scratch_;
};

}  // namespace

namespace detail {

std::unique_ptr<call_scanner> make_plain_scanner(event_writer& w) { return std::make_unique<plain_scanner>(w); }

}  // namespace detail

std::unique_ptr<output_parser> make_output_parser(const output_format& format, const parse_options& options) {
    if (format.calls == family::harmony || format.reasoning == reasoning_style::harmony)
        return detail::make_harmony_parser(options);
    return std::make_unique<layered_parser>(format, options);
}

}  // namespace sluice::tools
