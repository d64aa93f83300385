// Building blocks the output parsers share: the event writer, a marker matcher for text
// streams, incremental JSON readers and the raw-value-to-JSON conversion.
//
// Every family parser is a byte-level state machine fed one character at a time, so a split
// of the input can never change the result; each piece of state that waits (a marker prefix,
// a tag, a call's text before its name is known) is bounded or is output held on purpose.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/tools/output_parser.hpp"
#include "sluice/util/json_text.hpp"  // json_quote, json_escape_to

namespace sluice::tools::detail {

inline bool is_space(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Appends events to the caller's vector, merging adjacent text of one kind (only into events
// of the current push: the caller may already have sent earlier ones). Content right
// after a reasoning block or a call starts without its leading whitespace (the output's very
// start too): that whitespace is layout, not content.
class event_writer {
public:
    void bind(std::vector<parse_event>* out) noexcept {
        out_ = out;
        base_ = out != nullptr ? out->size() : 0;
    }
    void content(std::string_view text);
    void reasoning(std::string_view text);
    void begin_call(std::string name, std::string id);
    // An arguments fragment of the open call (ignored when no call is open).
    void arguments(std::string_view text);
    // Ends the open call; a call with no arguments written gets "{}".
    void end_call();
    bool call_open() const noexcept { return open_; }
    void drop_leading_content_space() noexcept { skip_content_space_ = true; }
    void drop_leading_reasoning_space() noexcept { skip_reasoning_space_ = true; }

private:
    void append(parse_event::kind k, std::string_view text);
    std::vector<parse_event>* out_ = nullptr;
    std::size_t base_ = 0;  // out_'s size when bound
    std::size_t next_index_ = 0;
    bool open_ = false;
    bool args_written_ = false;
    bool skip_content_space_ = true;
    bool skip_reasoning_space_ = false;
};

// Finds any of a set of markers in a character stream. feed() holds characters while they
// are a prefix of some marker and releases those that no longer can be.
class marker_matcher {
public:
    explicit marker_matcher(std::vector<std::string> markers);
    // Returns the index of the marker `c` completes (the held text is then cleared), or -1.
    // Appends released characters to `released`.
    int feed(char c, std::string& released);
    const std::string& held() const noexcept { return held_; }
    void clear() noexcept { held_.clear(); }
    const std::string& marker(int i) const { return markers_[static_cast<std::size_t>(i)]; }

private:
    bool is_prefix(std::string_view s) const noexcept;
    std::vector<std::string> markers_;
    std::string held_;
    bool starts_[256] = {};  // bytes that begin some marker
};

// Decodes the body of a JSON string (after its opening quote) into UTF-8, one char at a
// time: escapes, \uXXXX and surrogate pairs (a lone surrogate becomes U+FFFD).
class json_string_decoder {
public:
    enum class result { more, done, bad };
    result feed(char c, std::string& out);
    void reset() noexcept { *this = json_string_decoder{}; }

private:
    enum class state { normal, escape, hex } state_ = state::normal;
    unsigned code_ = 0;
    int hex_count_ = 0;
    unsigned high_ = 0;  // a pending high surrogate
};

// Follows one JSON value's text (object, array, string or scalar) to its end without
// building it. Scalars end at the first character that cannot belong to them; that
// character is then not consumed.
class json_value_scanner {
public:
    enum class result { more, done, done_unconsumed, bad };
    result feed(char c);

private:
    enum class state { start, nested, string, scalar } state_ = state::start;
    int depth_ = 0;
    bool in_string_ = false;
    bool escape_ = false;
};

// Follows a JSON object's text after its opening brace; feed() is true at its closing brace.
class json_object_tracker {
public:
    bool feed(char c) noexcept {
        if (in_string_) {
            if (escape_) escape_ = false;
            else if (c == '\\') escape_ = true;
            else if (c == '"') in_string_ = false;
        } else if (c == '"') {
            in_string_ = true;
        } else if (c == '{' || c == '[') {
            ++depth_;
        } else if (c == '}' || c == ']') {
            return --depth_ == 0;
        }
        return false;
    }

private:
    int depth_ = 1;
    bool in_string_ = false, escape_ = false;
};

// Reads one call object {"name": "...", "arguments": {...}} (keys in any order; "parameters"
// is accepted for "arguments", "type" is skipped, "id" is kept when allow_id). Emits
// call_begin once the name is known, streams the arguments object's text, emits call_end at
// the closing brace. Any other key, or broken syntax, is `bad`: the character was not
// consumed; before call_begin raw() is the text read so far, for the caller to emit as
// content; after it the call has been ended with the arguments so far.
class json_call_reader {
public:
    enum class result { more, done, bad };
    json_call_reader(event_writer& w, bool allow_id) : w_(w), allow_id_(allow_id) {}
    result feed(char c);
    bool begun() const noexcept { return begun_; }
    const std::string& raw() const noexcept { return raw_; }
    // The output ended inside the object: an open call ends with the arguments so far.
    void finish();

private:
    enum class state { open, key_or_end, key, colon, value, name, id, args_object, args_string, skip, after_value };
    enum class key_kind { name, arguments, id, skipped };
    result step(char c);
    void emit_args(std::string_view text);
    void maybe_begin(bool force);

    event_writer& w_;
    bool allow_id_;
    state state_ = state::open;
    key_kind key_kind_ = key_kind::skipped;
    std::string key_, name_, id_, raw_, pending_args_;
    bool have_name_ = false, have_args_ = false, begun_ = false;
    json_string_decoder decoder_;
    json_value_scanner scanner_;
    int depth_ = 0;
    bool in_string_ = false, escape_ = false;
};

// A raw parameter value as JSON text: a JSON string when `as_string` says so, or when the
// tool's schema types the parameter "string" (as_string unknown: -1); otherwise the value
// itself when it parses as JSON, else a JSON string.
std::string raw_value_to_json(std::string_view value, const parse_options& options, std::string_view tool,
                              std::string_view param, int as_string = -1);

// A family's call syntax over the content stream (after reasoning is split off).
class call_scanner {
public:
    virtual ~call_scanner() = default;
    virtual void feed(char c) = 0;
    virtual void finish() = 0;
};

// The family scanners (parse_<family>.cpp).
std::unique_ptr<call_scanner> make_plain_scanner(event_writer& w);
std::unique_ptr<call_scanner> make_generic_scanner(event_writer& w);
std::unique_ptr<call_scanner> make_hermes_scanner(event_writer& w);
std::unique_ptr<call_scanner> make_llama3_scanner(event_writer& w);
std::unique_ptr<call_scanner> make_mistral_scanner(event_writer& w);
std::unique_ptr<call_scanner> make_qwen_xml_scanner(event_writer& w, const parse_options& options);
std::unique_ptr<call_scanner> make_gemma4_scanner(event_writer& w, const parse_options& options);
std::unique_ptr<call_scanner> make_deepseek_r1_scanner(event_writer& w);
std::unique_ptr<call_scanner> make_deepseek_v3_scanner(event_writer& w, const parse_options& options);
// gpt-oss harmony is a whole parser: its channels carry reasoning, content and calls alike.
std::unique_ptr<output_parser> make_harmony_parser(const parse_options& options);

}  // namespace sluice::tools::detail
