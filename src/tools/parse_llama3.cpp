// Llama 3.1-3.3: the output is a call when it starts (after whitespace) with a JSON object
// {"name": "f", "parameters": {...}} ("arguments" and a leading "type": "function" are
// accepted), or when <|python_tag|> is followed by one (text before the tag is content).
// Calls may follow each other separated by ";" or whitespace. A "{" anywhere else is content,
// and an object that turns out not to be a call ({"foo": 1}) is content: it is held only
// until its first key shows that.
#include "parse_common.hpp"

#include <optional>

namespace sluice::tools::detail {
namespace {

constexpr std::string_view python_tag = "<|python_tag|>";

class llama3_scanner final : public call_scanner {
public:
    explicit llama3_scanner(event_writer& w) : w_(w) {}

    void feed(char c) override {
        switch (state_) {
        case state::start:
            if (is_space(c)) return;
            if (c == '{') {
                start_call(c, false);
                return;
            }
            state_ = state::text;
            feed(c);
            return;
        case state::text: {
            scratch_.clear();
            const int k = tag_.feed(c, scratch_);
            w_.content(scratch_);
            if (k == 0) state_ = state::after_tag;
            return;
        }
        case state::after_tag:
            if (is_space(c)) return;
            if (c == '{') {
                start_call(c, true);
                return;
            }
            w_.content(python_tag);
            state_ = state::text;
            feed(c);
            return;
        case state::call: {
            const auto r = reader_->feed(c);
            if (r == json_call_reader::result::done) {
                state_ = state::between;
            } else if (r == json_call_reader::result::bad) {
                if (!reader_->begun()) w_.content((via_tag_ ? std::string(python_tag) : std::string()) + reader_->raw());
                state_ = state::text;
                feed(c);
            }
            return;
        }
        case state::between:
            if (is_space(c) || c == ';') return;
            if (c == '{') {
                start_call(c, false);
                return;
            }
            state_ = state::text;
            feed(c);
            return;
        }
    }

    void finish() override {
        if (state_ == state::text) w_.content(tag_.held());
        if (state_ == state::after_tag) w_.content(python_tag);
        if (state_ == state::call) {
            if (reader_->begun()) reader_->finish();
            else w_.content((via_tag_ ? std::string(python_tag) : std::string()) + reader_->raw());
        }
        tag_.clear();
        state_ = state::text;
    }

private:
    enum class state { start, text, after_tag, call, between };

    void start_call(char c, bool via_tag) {
        via_tag_ = via_tag;
        reader_.emplace(w_, false);
        state_ = state::call;
        reader_->feed(c);
    }

    event_writer& w_;
    state state_ = state::start;
    marker_matcher tag_{{std::string(python_tag)}};
    std::optional<json_call_reader> reader_;
    bool via_tag_ = false;
    std::string scratch_;
};

}  // namespace

std::unique_ptr<call_scanner> make_llama3_scanner(event_writer& w) { return std::make_unique<llama3_scanner>(w); }

}  // namespace sluice::tools::detail
