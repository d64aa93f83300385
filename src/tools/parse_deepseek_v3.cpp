// DeepSeek V3.2 / V4 DSML (｜ is U+FF5C; V3.2 names the block function_calls, V4 tool_calls):
//   <｜DSML｜function_calls>
//   <｜DSML｜invoke name="NAME">
//   <｜DSML｜parameter name="K" string="true">V</｜DSML｜parameter>
//   </｜DSML｜invoke>
//   </｜DSML｜function_calls>
// string="true": V is a string; "false": V is JSON (a string if it does not parse); no
// attribute: the tool's schema decides. Each parameter is emitted when it closes; a call cut
// off is closed at finish(). Broken syntax before the first invoke's name is content, block
// marker included; after it, the open call ends and the text that follows is content.
#include "parse_common.hpp"

namespace sluice::tools::detail {
namespace {

constexpr std::string_view block_v32 = "<｜DSML｜function_calls>";
constexpr std::string_view block_v4 = "<｜DSML｜tool_calls>";
constexpr std::size_t max_tag = 400;

// The value of attribute `key` in a tag's text, or "" when absent.
std::string attribute(std::string_view tag, std::string_view key) {
    const std::string pattern = " " + std::string(key) + "=\"";
    const auto at = tag.find(pattern);
    if (at == std::string_view::npos) return {};
    const auto from = at + pattern.size();
    const auto to = tag.find('"', from);
    if (to == std::string_view::npos) return {};
    return std::string(tag.substr(from, to - from));
}

class deepseek_v3_scanner final : public call_scanner {
public:
    deepseek_v3_scanner(event_writer& w, const parse_options& o) : w_(w), options_(o) {}

    void feed(char c) override {
        switch (state_) {
        case state::text: {
            scratch_.clear();
            const int k = open_.feed(c, scratch_);
            w_.content(scratch_);
            if (k >= 0) {
                raw_ = open_.marker(k);
                block_close_ = "</" + raw_.substr(1);
                any_call_ = false;
                tag_.clear();
                state_ = state::block;
            }
            return;
        }
        case state::block:
        case state::invoke:
            if (!w_.call_open()) raw_.push_back(c);
            if (tag_.empty() && is_space(c)) return;
            tag_.push_back(c);
            if (tag_.front() != '<' || tag_.size() > max_tag) return broken();
            if (c == '>') on_tag();
            return;
        case state::value: {
            const int k = value_end_.feed(c, value_);
            if (k == 0) {
                emit_param();
                state_ = state::invoke;
            } else if (k == 1) {
                emit_param();
                close_call();
                state_ = state::block;
            }
            return;
        }
        }
    }

    void finish() override {
        switch (state_) {
        case state::text: w_.content(open_.held()); break;
        case state::block:
            if (!any_call_) w_.content(raw_);
            break;
        case state::value:
            value_ += value_end_.held();
            emit_param();
            close_call();
            break;
        case state::invoke: close_call(); break;
        }
        open_.clear();
        value_end_.clear();
        state_ = state::text;
    }

private:
    enum class state { text, block, invoke, value };

    void on_tag() {
        const std::string tag = std::move(tag_);
        tag_.clear();
        if (state_ == state::block && tag.starts_with("<｜DSML｜invoke ")) {
            name_ = attribute(tag, "name");
            if (name_.empty()) return broken_with(tag);
            w_.begin_call(name_, "");
            any_call_ = true;
            params_ = 0;
            state_ = state::invoke;
        } else if (state_ == state::block && tag == block_close_ && any_call_) {
            state_ = state::text;
        } else if (state_ == state::invoke && tag.starts_with("<｜DSML｜parameter ")) {
            param_ = attribute(tag, "name");
            const std::string s = attribute(tag, "string");
            as_string_ = s == "true" ? 1 : s == "false" ? 0 : -1;
            value_.clear();
            state_ = state::value;
        } else if (state_ == state::invoke && tag == "</｜DSML｜invoke>") {
            close_call();
            state_ = state::block;
        } else {
            broken_with(tag);
        }
    }

    void broken() {
        std::string text = std::move(tag_);
        tag_.clear();
        broken_with(text);
    }

    // Not the syntax: before any call, everything since the block marker is content;
    // otherwise the open call ends and this text is content.
    void broken_with(const std::string& text) {
        state_ = state::text;
        if (!any_call_) {
            w_.content(raw_.substr(0, raw_.size() - text.size()));
        } else if (w_.call_open()) {
            close_call();
        }
        for (char a : text) feed(a);
    }

    void emit_param() {
        std::string text = params_++ == 0 ? "{" : ",";
        text += json_quote(param_);
        text.push_back(':');
        text += raw_value_to_json(value_, options_, name_, param_, as_string_);
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
    marker_matcher open_{{std::string(block_v32), std::string(block_v4)}};
    marker_matcher value_end_{{"</｜DSML｜parameter>", "</｜DSML｜invoke>"}};
    std::string scratch_, raw_, tag_, name_, param_, value_, block_close_;
    bool any_call_ = false;
    int params_ = 0;
    int as_string_ = -1;
};

}  // namespace

std::unique_ptr<call_scanner> make_deepseek_v3_scanner(event_writer& w, const parse_options& options) {
    return std::make_unique<deepseek_v3_scanner>(w, options);
}

}  // namespace sluice::tools::detail
