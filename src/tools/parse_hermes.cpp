// Hermes 2/3, Qwen 2.5/3, QwQ: <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>,
// one block per call. The closing tag is optional after the JSON (text that follows instead
// is content); a block whose JSON breaks before the name is known is content, tag included.
#include "parse_common.hpp"

#include <optional>

namespace sluice::tools::detail {
namespace {

constexpr std::string_view open_tag = "<tool_call>";
constexpr std::string_view close_tag = "</tool_call>";

class hermes_scanner final : public call_scanner {
public:
    explicit hermes_scanner(event_writer& w) : w_(w) {}

    void feed(char c) override {
        switch (state_) {
        case state::text: {
            scratch_.clear();
            const int k = open_.feed(c, scratch_);
            w_.content(scratch_);
            if (k == 0) {
                reader_.emplace(w_, false);
                state_ = state::call;
            }
            return;
        }
        case state::call: {
            const auto r = reader_->feed(c);
            if (r == json_call_reader::result::done) {
                state_ = state::after_json;
            } else if (r == json_call_reader::result::bad) {
                if (!reader_->begun()) w_.content(std::string(open_tag) + reader_->raw());
                state_ = state::text;
                feed(c);
            }
            return;
        }
        case state::after_json: {
            if (is_space(c) && close_.held().empty()) return;
            scratch_.clear();
            const int k = close_.feed(c, scratch_);
            if (k == 0) {
                state_ = state::text;
            } else if (!scratch_.empty()) {  // not the closing tag: back to text
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
        case state::call:
            if (reader_->begun()) reader_->finish();
            else w_.content(std::string(open_tag) + reader_->raw());
            break;
        case state::after_json: break;  // a partial closing tag is markup
        }
        open_.clear();
        close_.clear();
        state_ = state::text;
    }

private:
    enum class state { text, call, after_json };
    event_writer& w_;
    state state_ = state::text;
    marker_matcher open_{{std::string(open_tag)}};
    marker_matcher close_{{std::string(close_tag)}};
    std::optional<json_call_reader> reader_;
    std::string scratch_;
};

}  // namespace

std::unique_ptr<call_scanner> make_hermes_scanner(event_writer& w) { return std::make_unique<hermes_scanner>(w); }

}  // namespace sluice::tools::detail
