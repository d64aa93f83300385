// Qwen 3.5, Qwen3-Coder, Nemotron 3, Step 3.5:
//   <tool_call>\n<function=NAME>\n<parameter=K>\nV\n</parameter>\n...</function>\n</tool_call>
// (a <function=NAME> block without the <tool_call> wrapper is accepted too).
// Values are raw text: one leading and one trailing newline are stripped, then the tool's
// schema decides the JSON (raw_value_to_json). Each parameter is emitted when it closes:
// "{\"K\":V" then ",\"K2\":V2" ... then "}". A call cut off is closed at finish() with the
// parameters so far (a cut-off value is kept as far as it came). Broken syntax before the
// function name is content, <tool_call> included; after it, the call ends there and the text
// that follows is content.
#include "parse_common.hpp"

namespace sluice::tools::detail {
namespace {

constexpr std::string_view open_tag = "<tool_call>";
constexpr std::string_view close_tag = "</tool_call>";
constexpr std::size_t max_tag = 300;

class qwen_xml_scanner final : public call_scanner {
public:
    qwen_xml_scanner(event_writer& w, const parse_options& o) : w_(w), options_(o) {}

    void feed(char c) override {
        switch (state_) {
        case state::text: {
            scratch_.clear();
            const int k = open_.feed(c, scratch_);
            w_.content(scratch_);
            if (k == 0) {
                raw_ = open_tag;
                tag_.clear();
                state_ = state::function_tag;
            } else if (k == 1) {  // a function block without its <tool_call> wrapper
                raw_ = open_.marker(1);
                tag_ = raw_;
                state_ = state::function_tag;
            }
            return;
        }
        case state::function_tag:
            raw_.push_back(c);
            if (tag_.empty() && is_space(c)) return;
            if (tag_.empty() && c != '<') return give_up();
            tag_.push_back(c);
            if (!std::string_view("<function=").starts_with(std::string_view(tag_).substr(0, 10))) return give_up();
            if (tag_.size() > max_tag || (tag_.size() > 10 && (is_space(c) || c == '<'))) return give_up();
            if (c == '>') {
                std::string name = tag_.substr(10, tag_.size() - 11);
                if (name.empty()) return give_up();
                name_ = name;
                w_.begin_call(std::move(name), "");
                params_ = 0;
                tag_.clear();
                state_ = state::body;
            }
            return;
        case state::body:
            if (tag_.empty() && is_space(c)) return;
            tag_.push_back(c);
            if (tag_.front() != '<' || tag_.size() > max_tag) return broken();
            if (c != '>') return;
            if (tag_ == "</function>") {
                close_call();
                state_ = state::after_function;
            } else if (tag_.starts_with("<parameter=")) {
                param_ = tag_.substr(11, tag_.size() - 12);
                value_.clear();
                state_ = state::value;
            } else {
                return broken();
            }
            tag_.clear();
            return;
        case state::value: {
            const int k = value_end_.feed(c, value_);
            if (k == 0) {
                emit_param();
                state_ = state::body;
            } else if (k == 1) {
                emit_param();
                close_call();
                state_ = state::after_function;
            }
            return;
        }
        case state::after_function: {
            if (is_space(c) && close_.held().empty()) return;
            scratch_.clear();
            const int k = close_.feed(c, scratch_);
            if (k == 0) {
                state_ = state::text;
            } else if (!scratch_.empty()) {
                std::string again = scratch_ + close_.held();
                close_.clear();
                state_ = state::text;
                for (char a : again) feed(a);
            }
            return;
        }
        }
    }

    void finish() override {
        switch (state_) {
        case state::text: w_.content(open_.held()); break;
        case state::function_tag: w_.content(raw_); break;
        case state::value:
            value_ += value_end_.held();
            emit_param();
            close_call();
            break;
        case state::body: close_call(); break;
        case state::after_function: break;
        }
        open_.clear();
        close_.clear();
        value_end_.clear();
        state_ = state::text;
    }

private:
    enum class state { text, function_tag, body, value, after_function };

    void give_up() {
        const char c = raw_.back();
        raw_.pop_back();
        w_.content(raw_);
        state_ = state::text;
        feed(c);
    }

    // Inside the function, text that is not a parameter: the call ends, the text is content.
    void broken() {
        std::string text = std::move(tag_);
        tag_.clear();
        close_call();
        state_ = state::text;
        for (char a : text) feed(a);
    }

    void emit_param() {
        std::string_view v = value_;
        if (v.starts_with('\n')) v.remove_prefix(1);
        if (v.ends_with('\n')) v.remove_suffix(1);
        std::string text = params_++ == 0 ? "{" : ",";
        text += json_quote(param_);
        text.push_back(':');
        text += raw_value_to_json(v, options_, name_, param_);
        w_.arguments(text);
        value_.clear();
    }

    void close_call() {
        w_.arguments(params_ == 0 ? "{}" : "}");
        w_.end_call();
    }

    event_writer& w_;
    const parse_options& options_;
    state state_ = state::text;
    marker_matcher open_{{std::string(open_tag), "<function="}};
    marker_matcher close_{{std::string(close_tag)}};
    marker_matcher value_end_{{"</parameter>", "</function>"}};
    std::string scratch_, raw_, tag_, name_, param_, value_;
    int params_ = 0;
};

}  // namespace

std::unique_ptr<call_scanner> make_qwen_xml_scanner(event_writer& w, const parse_options& options) {
    return std::make_unique<qwen_xml_scanner>(w, options);
}

}  // namespace sluice::tools::detail
