// Gemma 4: <|tool_call>call:NAME{key:value,...}<tool_call|>, one block per call. Keys are
// bare (or quoted like strings), strings are quoted with <|"|>...<|"|>, other values are
// numbers, true/false, null, {...} or [...]. The arguments are converted to JSON text and
// streamed as they come (a string's characters as they arrive, a bare value when it ends). A
// bare top-level value of a parameter the schema types "string" becomes a JSON string.
// Broken syntax before the name is content, <|tool_call> included; after it, the call ends
// and the text that follows is content. A call cut off ends with its arguments so far.
#include "parse_common.hpp"

#include <boost/json.hpp>

namespace sluice::tools::detail {
namespace {

constexpr std::string_view open_tag = "<|tool_call>";
constexpr std::string_view close_tag = "<tool_call|>";
constexpr std::string_view quote = "<|\"|>";
constexpr std::string_view call_prefix = "call:";

std::string trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return std::string(s);
}

class gemma4_scanner final : public call_scanner {
public:
    gemma4_scanner(event_writer& w, const parse_options& o) : w_(w), options_(o) {}

    void feed(char c) override {
        switch (state_) {
        case state::text: {
            scratch_.clear();
            const int k = open_.feed(c, scratch_);
            w_.content(scratch_);
            if (k == 0) {
                raw_ = open_tag;
                state_ = state::prefix;
            }
            return;
        }
        case state::prefix:
            raw_.push_back(c);
            if (raw_.size() - open_tag.size() <= call_prefix.size()) {
                if (c != call_prefix[raw_.size() - open_tag.size() - 1]) return give_up();
                if (raw_.size() - open_tag.size() == call_prefix.size()) {
                    name_.clear();
                    state_ = state::name;
                }
            }
            return;
        case state::name:
            raw_.push_back(c);
            if (c == '{') {
                if (name_.empty()) return give_up();
                w_.begin_call(name_, "");
                w_.arguments("{");
                stack_.assign(1, '{');
                state_ = state::key_start;
                return;
            }
            if (is_space(c) || c == '<' || name_.size() >= 256) return give_up();
            name_.push_back(c);
            return;
        case state::key_start:
            if (is_space(c)) return;
            if (c == '}') return close(c);
            key_.clear();
            state_ = state::key;
            [[fallthrough]];
        case state::key:
            if (c == ':') {
                std::string key = key_;
                for (auto at = key.find(quote); at != std::string::npos; at = key.find(quote)) key.erase(at, quote.size());
                key = trim(key);
                if (stack_.size() == 1) top_key_ = key;
                w_.arguments(json_quote(key) + ":");
                state_ = state::value_start;
                return;
            }
            if (key_.size() >= 256 || c == '{' || c == '}' || c == ',') return broken(c);
            key_.push_back(c);
            return;
        case state::value_start:
            if (is_space(c)) return;
            if (c == '{' || c == '[') {
                w_.arguments(std::string_view(&c, 1));
                stack_.push_back(c);
                state_ = c == '{' ? state::key_start : state::value_start;
                return;
            }
            if (c == ']' && stack_.back() == '[') return close(c);  // an empty array
            scalar_.clear();
            if (c == '<') {
                scalar_.push_back(c);
                state_ = state::quote_open;
                return;
            }
            state_ = state::scalar;
            [[fallthrough]];
        case state::scalar:
            if (c == ',' || c == '}' || c == ']' || is_space(c)) {
                end_scalar();
                state_ = state::after_value;
                feed(c);
                return;
            }
            scalar_.push_back(c);
            return;
        case state::quote_open:
            scalar_.push_back(c);
            if (scalar_ == quote) {
                w_.arguments("\"");
                quote_.clear();
                state_ = state::string;
            } else if (!quote.starts_with(scalar_)) {
                state_ = state::scalar;
            }
            return;
        case state::string: {
            scratch_.clear();
            const int k = quote_.feed(c, scratch_);
            escaped_.clear();
            json_escape_to(scratch_, escaped_);
            w_.arguments(escaped_);
            if (k == 0) {
                w_.arguments("\"");
                state_ = state::after_value;
            }
            return;
        }
        case state::after_value:
            if (is_space(c)) return;
            if (c == ',') {
                w_.arguments(",");
                state_ = stack_.back() == '{' ? state::key_start : state::value_start;
                return;
            }
            if (c == '}' || c == ']') return close(c);
            return broken(c);
        case state::closing: {
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
        case state::prefix:
        case state::name: w_.content(raw_); break;
        case state::closing: break;
        case state::string: {
            escaped_.clear();
            json_escape_to(quote_.held(), escaped_);
            w_.arguments(escaped_);
            w_.end_call();
            break;
        }
        default: w_.end_call(); break;
        }
        open_.clear();
        close_.clear();
        quote_.clear();
        state_ = state::text;
    }

private:
    enum class state { text, prefix, name, key_start, key, value_start, scalar, quote_open, string, after_value, closing };

    void give_up() {
        const char c = raw_.back();
        raw_.pop_back();
        w_.content(raw_);
        state_ = state::text;
        feed(c);
    }

    // Broken syntax inside the arguments: the call ends, the text is content.
    void broken(char c) {
        w_.end_call();
        state_ = state::text;
        feed(c);
    }

    void close(char c) {
        (void)c;
        const char open = stack_.back();
        stack_.pop_back();
        w_.arguments(open == '{' ? "}" : "]");
        if (stack_.empty()) {
            w_.end_call();
            state_ = state::closing;
        } else {
            state_ = state::after_value;
        }
    }

    void end_scalar() {
        const std::string v = trim(scalar_);
        std::string json;
        if (stack_.size() == 1 && stack_.back() == '{') json = raw_value_to_json(v, options_, name_, top_key_);
        else json = raw_value_to_json(v, parse_options{}, {}, {}, 0);
        if (v == "None") json = "null";
        else if (v == "True") json = "true";
        else if (v == "False") json = "false";
        w_.arguments(json);
    }

    event_writer& w_;
    const parse_options& options_;
    state state_ = state::text;
    marker_matcher open_{{std::string(open_tag)}};
    marker_matcher close_{{std::string(close_tag)}};
    marker_matcher quote_{{std::string(quote)}};
    std::string scratch_, escaped_, raw_, name_, key_, top_key_, scalar_;
    std::string stack_;
};

}  // namespace

std::unique_ptr<call_scanner> make_gemma4_scanner(event_writer& w, const parse_options& options) {
    return std::make_unique<gemma4_scanner>(w, options);
}

}  // namespace sluice::tools::detail
