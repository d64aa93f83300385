// DeepSeek R1 (and its distills; ｜ is U+FF5C, ▁ is U+2581):
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{...}\n```<｜tool▁call▁end｜>
//   ...more calls...<｜tool▁calls▁end｜>
// Also accepted: a call without the outer calls-begin marker, and the V3.1 spelling
// <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{...}<｜tool▁call▁end｜>. The arguments stream as
// the JSON object's text. Broken syntax before the name is known is content, markers included.
#include "parse_common.hpp"

namespace sluice::tools::detail {
namespace {

constexpr std::string_view calls_begin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view calls_end = "<｜tool▁calls▁end｜>";
constexpr std::string_view call_begin = "<｜tool▁call▁begin｜>";
constexpr std::string_view call_end = "<｜tool▁call▁end｜>";
constexpr std::string_view sep = "<｜tool▁sep｜>";

class deepseek_r1_scanner final : public call_scanner {
public:
    explicit deepseek_r1_scanner(event_writer& w) : w_(w) {}

    void feed(char c) override {
        switch (state_) {
        case state::text: {
            scratch_.clear();
            const int k = text_.feed(c, scratch_);
            w_.content(scratch_);
            if (k == 0) {
                raw_ = calls_begin;
                state_ = state::block;
            } else if (k == 1) {
                raw_ = call_begin;
                start_head();
            }
            return;
        }
        case state::block: {  // between calls: whitespace, then a call or the block's end
            raw_.push_back(c);
            if (is_space(c) && block_.held().empty()) return;
            scratch_.clear();
            const int k = block_.feed(c, scratch_);
            if (k == 0) {
                start_head();
            } else if (k == 1) {
                state_ = state::text;
            } else if (!scratch_.empty()) {
                std::string again = scratch_ + block_.held();
                block_.clear();
                give_up(again);
            }
            return;
        }
        case state::head: {  // "function" (or the V3.1 name) up to the separator
            raw_.push_back(c);
            scratch_.clear();
            const int k = sep_.feed(c, scratch_);
            head_ += scratch_;
            if (head_.size() > 256) return give_up({});
            if (k == 0) {
                name_.clear();
                state_ = state::name;
            }
            return;
        }
        case state::name:
            raw_.push_back(c);
            if (name_.empty() && is_space(c) && c != '\n') return;
            if (name_.empty() && c == '{') {  // V3.1: the head was the name
                name_ = trim(head_);
                if (name_.empty()) return give_up({});
                begin_args();
                return;
            }
            if (c == '\n') {
                name_ = trim(name_);
                if (name_.empty()) return;
                w_.begin_call(name_, "");
                fence_.clear();
                state_ = state::fence;
                return;
            }
            if (name_.size() > 256) return give_up({});
            name_.push_back(c);
            return;
        case state::fence:  // ```json and whitespace before the object
            if (c == '{') {
                w_.arguments("{");
                object_ = json_object_tracker{};
                state_ = state::args;
                return;
            }
            fence_.push_back(c);
            if (fence_.size() > 16 || !(is_space(c) || c == '`' || (c >= 'a' && c <= 'z'))) return broken();
            return;
        case state::args:
            w_.arguments(std::string_view(&c, 1));
            if (object_.feed(c)) {
                w_.end_call();
                tail_.clear();
                state_ = state::tail;
            }
            return;
        case state::tail: {  // ``` and whitespace, then the call's end marker
            if ((is_space(c) || c == '`') && end_.held().empty()) return;
            scratch_.clear();
            const int k = end_.feed(c, scratch_);
            if (k == 0) {
                raw_.clear();
                state_ = state::block;
            } else if (!scratch_.empty()) {
                std::string again = scratch_ + end_.held();
                end_.clear();
                state_ = state::text;
                for (char a : again) feed(a);
            }
            return;
        }
        }
    }

    void finish() override {
        switch (state_) {
        case state::text: w_.content(text_.held()); break;
        case state::block:
        case state::head:
        case state::name: w_.content(raw_); break;
        case state::fence:
        case state::args: w_.end_call(); break;
        case state::tail: break;
        }
        text_.clear();
        block_.clear();
        sep_.clear();
        end_.clear();
        state_ = state::text;
    }

private:
    enum class state { text, block, head, name, fence, args, tail };

    static std::string trim(std::string_view s) {
        while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
        while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
        return std::string(s);
    }

    void start_head() {
        head_.clear();
        sep_.clear();
        state_ = state::head;
    }

    void begin_args() {
        w_.begin_call(name_, "");
        w_.arguments("{");
        object_ = json_object_tracker{};
        state_ = state::args;
    }

    // Not a call: what was read since the first marker is content, except its tail `again`
    // (by default the character just read), which is read again as text.
    void give_up(std::string again) {
        if (again.empty() && !raw_.empty()) again = raw_.substr(raw_.size() - 1);
        w_.content(std::string_view(raw_).substr(0, raw_.size() - again.size()));
        raw_.clear();
        state_ = state::text;
        for (char a : again) feed(a);
    }

    // After the name: the call ends with empty arguments and the text is content.
    void broken() {
        std::string text = std::move(fence_);
        fence_.clear();
        w_.end_call();
        state_ = state::text;
        for (char a : text) feed(a);
    }

    event_writer& w_;
    state state_ = state::text;
    marker_matcher text_{{std::string(calls_begin), std::string(call_begin)}};
    marker_matcher block_{{std::string(call_begin), std::string(calls_end)}};
    marker_matcher sep_{{std::string(sep)}};
    marker_matcher end_{{std::string(call_end)}};
    json_object_tracker object_;
    std::string scratch_, raw_, head_, name_, fence_, tail_;
};

}  // namespace

std::unique_ptr<call_scanner> make_deepseek_r1_scanner(event_writer& w) {
    return std::make_unique<deepseek_r1_scanner>(w);
}

}  // namespace sluice::tools::detail
