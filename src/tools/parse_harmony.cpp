// gpt-oss harmony. The output is a sequence of messages:
//   <|channel|>analysis<|message|>...<|end|>                        reasoning
//   <|start|>assistant<|channel|>final<|message|>...<|return|>       content
//   <|start|>assistant<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{..}<|call|>
//                                                                    a call (the recipient may
//                                                                    also sit in the role header)
// A message without a recipient on the commentary channel (a preamble) is content; text
// outside any message is content. The header (from <|start|> or <|channel|> to <|message|>)
// is held until complete (at most 512 bytes, else it is content); one cut off by the end of
// the output is dropped. A call's body streams verbatim (from its first non-space byte) as
// the arguments. parse_reasoning false: analysis text is content (headers still dropped);
// parse_calls false: a call's body is content. starts_in_reasoning: the output starts inside
// an analysis message.
#include "parse_common.hpp"

namespace sluice::tools::detail {
namespace {

constexpr std::string_view message_tag = "<|message|>";
constexpr std::size_t max_header = 512;

class harmony_parser final : public output_parser {
public:
    explicit harmony_parser(const parse_options& o) : options_(o) {
        if (options_.starts_in_reasoning) kind_ = kind::reasoning;
    }

    void push(std::string_view text, std::vector<parse_event>& out) override {
        w_.bind(&out);
        for (char c : text) feed(c);
        w_.bind(nullptr);
    }

    void finish(std::vector<parse_event>& out) override {
        w_.bind(&out);
        if (!in_header_) emit(body_.held());
        body_.clear();
        end_message();
        in_header_ = false;
        w_.bind(nullptr);
    }

private:
    enum class kind { content, reasoning, call };

    void feed(char c) {
        if (in_header_) {
            header_.push_back(c);
            if (header_.ends_with(message_tag)) {
                start_message();
            } else if (header_.size() > max_header) {
                in_header_ = false;
                kind_ = kind::content;
                w_.content(header_);
            }
            return;
        }
        scratch_.clear();
        const int k = body_.feed(c, scratch_);
        emit(scratch_);
        if (k < 0) return;
        end_message();
        if (k >= 3) {  // <|start|> or <|channel|>: a header follows
            in_header_ = true;
            header_ = body_.marker(k);
        }
    }

    void emit(std::string_view text) {
        switch (kind_) {
        case kind::content: w_.content(text); break;
        case kind::reasoning:
            if (options_.parse_reasoning) w_.reasoning(text);
            else w_.content(text);
            break;
        case kind::call: {
            if (!w_.call_open()) break;
            if (!args_started_) {
                while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
                if (text.empty()) break;
                args_started_ = true;
            }
            w_.arguments(text);
            break;
        }
        }
    }

    void end_message() {
        if (kind_ == kind::call) w_.end_call();
        kind_ = kind::content;
        w_.drop_leading_content_space();
    }

    static std::string word_after(std::string_view header, std::string_view key) {
        const auto at = header.find(key);
        if (at == std::string_view::npos) return {};
        std::string_view rest = header.substr(at + key.size());
        while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
        std::size_t n = 0;
        while (n < rest.size() && !is_space(rest[n]) && rest[n] != '<') ++n;
        return std::string(rest.substr(0, n));
    }

    void start_message() {
        in_header_ = false;
        const std::string_view header = std::string_view(header_).substr(0, header_.size() - message_tag.size());
        const std::string channel = word_after(header, "<|channel|>");
        std::string recipient = word_after(header, "to=");
        if (!recipient.empty() && options_.parse_calls) {
            if (recipient.starts_with("functions.")) recipient.erase(0, 10);
            kind_ = kind::call;
            args_started_ = false;
            w_.begin_call(recipient, "");
        } else if (channel == "analysis") {
            kind_ = kind::reasoning;
            if (options_.parse_reasoning) w_.drop_leading_reasoning_space();
        } else {
            kind_ = kind::content;
        }
    }

    parse_options options_;
    event_writer w_;
    marker_matcher body_{{"<|end|>", "<|call|>", "<|return|>", "<|start|>", "<|channel|>"}};
    kind kind_ = kind::content;
    bool in_header_ = false;
    bool args_started_ = false;
    std::string header_, scratch_;
};

}  // namespace

std::unique_ptr<output_parser> make_harmony_parser(const parse_options& options) {
    return std::make_unique<harmony_parser>(options);
}

}  // namespace sluice::tools::detail
