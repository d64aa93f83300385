// Mistral, both spellings after the [TOOL_CALLS] marker:
//   Nemo:                 [TOOL_CALLS][{"name": "f", "arguments": {...}, "id": "abcDEF123"}, ...]
//   Small 3.2 / Devstral: [TOOL_CALLS]f[CALL_ID]abcDEF123[ARGS]{...}  ([CALL_ID] optional),
//                         one marker per call.
// The id is the call_begin id when it comes before the arguments (Nemo writes it after them
// in key order name, arguments, id: then it is ""). Broken syntax before the name is known
// makes the marker and what followed content.
#include "parse_common.hpp"

#include <optional>

namespace sluice::tools::detail {
namespace {

constexpr std::string_view marker = "[TOOL_CALLS]";

class mistral_scanner final : public call_scanner {
public:
    explicit mistral_scanner(event_writer& w) : w_(w) {}

    void feed(char c) override {
        switch (state_) {
        case state::text: {
            scratch_.clear();
            const int k = marker_.feed(c, scratch_);
            w_.content(scratch_);
            if (k == 0) {
                state_ = state::after_marker;
                raw_ = marker;
            }
            return;
        }
        case state::after_marker:
            if (is_space(c) || c == '[') {
                raw_.push_back(c);
                if (c == '[') state_ = state::array_item;
                return;
            }
            name_.clear();
            id_.clear();
            state_ = state::name;
            feed_name(c);
            return;
        case state::name:
        case state::tag:
        case state::id:
        case state::args_start:
        case state::args:
            feed_name(c);
            return;
        case state::array_item:
            if (is_space(c)) {
                raw_.push_back(c);
                return;
            }
            if (c == ']') {  // an empty list
                state_ = state::text;
                return;
            }
            reader_.emplace(w_, true);
            state_ = state::array_call;
            feed(c);
            return;
        case state::array_call: {
            const auto r = reader_->feed(c);
            if (r == json_call_reader::result::done) {
                state_ = state::array_next;
            } else if (r == json_call_reader::result::bad) {
                if (!reader_->begun()) w_.content(raw_ + reader_->raw());
                state_ = state::text;
                feed(c);
            }
            return;
        }
        case state::array_next:
            if (is_space(c)) return;
            if (c == ',') {
                raw_.clear();
                state_ = state::array_item;
                return;
            }
            state_ = state::text;
            if (c != ']') feed(c);
            return;
        }
    }

    void finish() override {
        switch (state_) {
        case state::text: w_.content(marker_.held()); break;
        case state::array_call:
            if (reader_->begun()) reader_->finish();
            else w_.content(raw_ + reader_->raw());
            break;
        case state::args: w_.end_call(); break;
        case state::after_marker:
        case state::name:
        case state::tag:
        case state::id:
        case state::args_start:
        case state::array_item: w_.content(raw_); break;
        case state::array_next: break;
        }
        marker_.clear();
        state_ = state::text;
    }

private:
    enum class state { text, after_marker, name, tag, id, args_start, args, array_item, array_call, array_next };

    // Not a call after all: what was read is content.
    void give_up(char c) {
        raw_.pop_back();
        w_.content(raw_);
        state_ = state::text;
        feed(c);
    }

    // The NAME[CALL_ID]id[ARGS]{...} spelling.
    void feed_name(char c) {
        if (state_ != state::args) raw_.push_back(c);
        switch (state_) {
        case state::name:
            if (c == '[') {
                if (name_.empty()) return give_up(c);
                tag_ = "[";
                state_ = state::tag;
            } else if (is_space(c) || name_.size() >= 256) {
                return give_up(c);
            } else {
                name_.push_back(c);
            }
            return;
        case state::tag:
            tag_.push_back(c);
            if (tag_ == "[ARGS]") {
                state_ = state::args_start;
            } else if (tag_ == "[CALL_ID]") {
                state_ = state::id;
            } else if (!std::string_view("[ARGS]").starts_with(tag_) && !std::string_view("[CALL_ID]").starts_with(tag_)) {
                return give_up(c);
            }
            return;
        case state::id:
            if (c == '[') {
                tag_ = "[";
                state_ = state::tag;
            } else if (is_space(c) || id_.size() >= 64) {
                return give_up(c);
            } else {
                id_.push_back(c);
            }
            return;
        case state::args_start:
            if (is_space(c)) return;
            if (c != '{') return give_up(c);
            w_.begin_call(name_, id_);
            w_.arguments("{");
            object_ = json_object_tracker{};
            state_ = state::args;
            return;
        case state::args: {
            w_.arguments(std::string_view(&c, 1));
            if (object_.feed(c)) {
                w_.end_call();
                state_ = state::text;
            }
            return;
        }
        default: return;
        }
    }

    event_writer& w_;
    state state_ = state::text;
    marker_matcher marker_{{std::string(marker)}};
    std::optional<json_call_reader> reader_;
    std::string scratch_, raw_, name_, id_, tag_;
    json_object_tracker object_;
};

}  // namespace

std::unique_ptr<call_scanner> make_mistral_scanner(event_writer& w) { return std::make_unique<mistral_scanner>(w); }

}  // namespace sluice::tools::detail
