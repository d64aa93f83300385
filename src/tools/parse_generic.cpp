// The generic family: sluice's grammar makes the whole output one JSON envelope,
//   {"tool_calls": [{"name": "f", "arguments": {...}}, ...]}   the calls
//   {"response": "text"}                                       the answer, streamed unescaped
// with optional whitespace between tokens. An output that does not start with "{", or whose
// envelope breaks before anything was emitted, is content as written.
#include "parse_common.hpp"

#include <optional>

namespace sluice::tools::detail {
namespace {

class generic_scanner final : public call_scanner {
public:
    explicit generic_scanner(event_writer& w) : w_(w) {}

    void feed(char c) override {
        switch (state_) {
        case state::start:
            if (is_space(c)) return;
            if (c != '{') {
                state_ = state::text;
                return feed(c);
            }
            raw_ = "{";
            state_ = state::key_open;
            return;
        case state::key_open:
            raw_.push_back(c);
            if (is_space(c)) return;
            if (c != '"') return give_up();
            state_ = state::key;
            return;
        case state::key:
            raw_.push_back(c);
            if (c == '"') {
                if (key_ != "tool_calls" && key_ != "response") return give_up();
                state_ = state::colon;
            } else if (key_.size() >= 10) {
                return give_up();
            } else {
                key_.push_back(c);
            }
            return;
        case state::colon:
            raw_.push_back(c);
            if (is_space(c)) return;
            if (c != ':') return give_up();
            state_ = state::value;
            return;
        case state::value:
            raw_.push_back(c);
            if (is_space(c)) return;
            if (key_ == "response" && c == '"') {
                state_ = state::response;
            } else if (key_ == "tool_calls" && c == '[') {
                state_ = state::call_item;
            } else {
                return give_up();
            }
            return;
        case state::response: {
            scratch_.clear();
            const auto r = decoder_.feed(c, scratch_);
            w_.content(scratch_);
            if (r == json_string_decoder::result::done) state_ = state::close;
            else if (r == json_string_decoder::result::bad) state_ = state::text;  // the rest is content as written
            if (state_ == state::text) w_.content(std::string_view(&c, 1));
            return;
        }
        case state::call_item:
            if (is_space(c)) {
                raw_.push_back(c);
                return;
            }
            if (c == ']') {
                state_ = state::close;
                return;
            }
            reader_.emplace(w_, false);
            state_ = state::call;
            return feed(c);
        case state::call: {
            const auto r = reader_->feed(c);
            if (r == json_call_reader::result::done) {
                raw_.clear();
                state_ = state::call_next;
            } else if (r == json_call_reader::result::bad) {
                if (!reader_->begun()) w_.content(raw_ + reader_->raw());
                state_ = state::text;
                feed(c);
            }
            return;
        }
        case state::call_next:
            if (is_space(c)) return;
            if (c == ',') {
                state_ = state::call_item;
                return;
            }
            state_ = c == ']' ? state::close : state::text;
            if (state_ == state::text) feed(c);
            return;
        case state::close:
            if (is_space(c)) return;
            state_ = state::text;
            w_.drop_leading_content_space();
            if (c != '}') feed(c);
            return;
        case state::text:
            w_.content(std::string_view(&c, 1));
            return;
        }
    }

    void finish() override {
        switch (state_) {
        case state::key_open:
        case state::key:
        case state::colon:
        case state::value: w_.content(raw_); break;
        case state::call:
            if (reader_->begun()) reader_->finish();
            else w_.content(raw_ + reader_->raw());
            break;
        default: break;
        }
        state_ = state::text;
    }

private:
    enum class state { start, key_open, key, colon, value, response, call_item, call, call_next, close, text };

    void give_up() {
        w_.content(raw_);
        state_ = state::text;
    }

    event_writer& w_;
    state state_ = state::start;
    std::string raw_, key_, scratch_;
    json_string_decoder decoder_;
    std::optional<json_call_reader> reader_;
};

}  // namespace

std::unique_ptr<call_scanner> make_generic_scanner(event_writer& w) { return std::make_unique<generic_scanner>(w); }

}  // namespace sluice::tools::detail
