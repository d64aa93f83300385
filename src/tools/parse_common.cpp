#include "parse_common.hpp"

#include <boost/json.hpp>

namespace sluice::tools::detail {

// ---- event_writer ----

void event_writer::append(parse_event::kind k, std::string_view text) {
    if (text.empty() || out_ == nullptr) return;
    const std::size_t index = k == parse_event::kind::call_arguments ? next_index_ - 1 : 0;
    if (out_->size() > base_) {
        parse_event& last = out_->back();
        if (last.type == k && last.index == index) {
            last.text.append(text);
            return;
        }
    }
    parse_event e;
    e.type = k;
    e.text.assign(text);
    e.index = index;
    out_->push_back(std::move(e));
}

void event_writer::content(std::string_view text) {
    if (skip_content_space_) {
        std::size_t i = 0;
        while (i < text.size() && is_space(text[i])) ++i;
        text.remove_prefix(i);
        if (text.empty()) return;
        skip_content_space_ = false;
    }
    append(parse_event::kind::content, text);
}

void event_writer::reasoning(std::string_view text) {
    if (skip_reasoning_space_) {
        std::size_t i = 0;
        while (i < text.size() && is_space(text[i])) ++i;
        text.remove_prefix(i);
        if (text.empty()) return;
        skip_reasoning_space_ = false;
    }
    append(parse_event::kind::reasoning, text);
}

void event_writer::begin_call(std::string name, std::string id) {
    if (open_) end_call();
    parse_event e;
    e.type = parse_event::kind::call_begin;
    e.name = std::move(name);
    e.id = std::move(id);
    e.index = next_index_++;
    if (out_ != nullptr) out_->push_back(std::move(e));
    open_ = true;
    args_written_ = false;
}

void event_writer::arguments(std::string_view text) {
    if (!open_ || text.empty()) return;
    args_written_ = true;
    append(parse_event::kind::call_arguments, text);
}

void event_writer::end_call() {
    if (!open_) return;
    if (!args_written_) arguments("{}");
    parse_event e;
    e.type = parse_event::kind::call_end;
    e.index = next_index_ - 1;
    if (out_ != nullptr) out_->push_back(std::move(e));
    open_ = false;
    skip_content_space_ = true;
}

// ---- marker_matcher ----

marker_matcher::marker_matcher(std::vector<std::string> markers) : markers_(std::move(markers)) {
    for (const auto& m : markers_)
        if (!m.empty()) starts_[static_cast<unsigned char>(m.front())] = true;
}

bool marker_matcher::is_prefix(std::string_view s) const noexcept {
    for (const auto& m : markers_)
        if (m.size() >= s.size() && std::string_view(m).substr(0, s.size()) == s) return true;
    return false;
}

int marker_matcher::feed(char c, std::string& released) {
    if (held_.empty() && !starts_[static_cast<unsigned char>(c)]) {  // the common case: plain text
        released.push_back(c);
        return -1;
    }
    held_.push_back(c);
    while (!held_.empty()) {
        for (std::size_t i = 0; i < markers_.size(); ++i) {
            if (held_ == markers_[i]) {
                held_.clear();
                return static_cast<int>(i);
            }
        }
        if (is_prefix(held_)) return -1;
        released.push_back(held_.front());
        held_.erase(0, 1);
    }
    return -1;
}

// ---- json_string_decoder ----

namespace {

void append_utf8(unsigned cp, std::string& out) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

json_string_decoder::result json_string_decoder::feed(char c, std::string& out) {
    switch (state_) {
    case state::normal:
        if (c == '\\') {
            state_ = state::escape;
            return result::more;
        }
        if (high_ != 0) {  // a high surrogate not followed by \u
            append_utf8(0xFFFD, out);
            high_ = 0;
        }
        if (c == '"') return result::done;
        out.push_back(c);
        return result::more;
    case state::escape: {
        if (c == 'u') {
            state_ = state::hex;
            code_ = 0;
            hex_count_ = 0;
            return result::more;
        }
        char decoded = 0;
        switch (c) {
        case '"': decoded = '"'; break;
        case '\\': decoded = '\\'; break;
        case '/': decoded = '/'; break;
        case 'b': decoded = '\b'; break;
        case 'f': decoded = '\f'; break;
        case 'n': decoded = '\n'; break;
        case 'r': decoded = '\r'; break;
        case 't': decoded = '\t'; break;
        default: return result::bad;
        }
        if (high_ != 0) {
            append_utf8(0xFFFD, out);
            high_ = 0;
        }
        out.push_back(decoded);
        state_ = state::normal;
        return result::more;
    }
    case state::hex: {
        const int v = hex_value(c);
        if (v < 0) return result::bad;
        code_ = code_ * 16 + static_cast<unsigned>(v);
        if (++hex_count_ < 4) return result::more;
        state_ = state::normal;
        if (code_ >= 0xD800 && code_ <= 0xDBFF) {
            if (high_ != 0) append_utf8(0xFFFD, out);
            high_ = code_;
        } else if (code_ >= 0xDC00 && code_ <= 0xDFFF) {
            if (high_ != 0) {
                append_utf8(0x10000 + ((high_ - 0xD800) << 10) + (code_ - 0xDC00), out);
                high_ = 0;
            } else {
                append_utf8(0xFFFD, out);
            }
        } else {
            if (high_ != 0) append_utf8(0xFFFD, out);
            high_ = 0;
            append_utf8(code_, out);
        }
        return result::more;
    }
    }
    return result::bad;
}

// ---- json_value_scanner ----

json_value_scanner::result json_value_scanner::feed(char c) {
    switch (state_) {
    case state::start:
        if (is_space(c)) return result::more;
        if (c == '{' || c == '[') {
            state_ = state::nested;
            depth_ = 1;
            return result::more;
        }
        if (c == '"') {
            state_ = state::string;
            return result::more;
        }
        if ((c >= '0' && c <= '9') || c == '-' || (c >= 'a' && c <= 'z')) {
            state_ = state::scalar;
            return result::more;
        }
        return result::bad;
    case state::string:
        if (escape_) {
            escape_ = false;
        } else if (c == '\\') {
            escape_ = true;
        } else if (c == '"') {
            return result::done;
        }
        return result::more;
    case state::scalar:
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '+' || c == '-' || c == 'E')
            return result::more;
        return result::done_unconsumed;
    case state::nested:
        if (in_string_) {
            if (escape_) escape_ = false;
            else if (c == '\\') escape_ = true;
            else if (c == '"') in_string_ = false;
            return result::more;
        }
        if (c == '"') in_string_ = true;
        else if (c == '{' || c == '[') ++depth_;
        else if (c == '}' || c == ']') {
            if (--depth_ == 0) return result::done;
        }
        return result::more;
    }
    return result::bad;
}

// ---- json_call_reader ----

void json_call_reader::emit_args(std::string_view text) {
    if (begun_) w_.arguments(text);
    else pending_args_.append(text);
}

void json_call_reader::maybe_begin(bool force) {
    if (begun_ || !have_name_) return;
    if (!force && allow_id_ && !have_args_) return;  // wait: an "id" may still come before the arguments
    begun_ = true;
    w_.begin_call(name_, id_);
    raw_.clear();
    if (!pending_args_.empty()) w_.arguments(pending_args_);
    pending_args_.clear();
}

json_call_reader::result json_call_reader::feed(char c) {
    if (!begun_) raw_.push_back(c);
    const result r = step(c);
    if (r == result::bad) {
        if (begun_) w_.end_call();  // broken after the name: the call ends with what came
        else if (!raw_.empty()) raw_.pop_back();
    }
    return r;
}

json_call_reader::result json_call_reader::step(char c) {
    switch (state_) {
    case state::open:
        if (is_space(c)) return result::more;
        if (c != '{') return result::bad;
        state_ = state::key_or_end;
        return result::more;
    case state::key_or_end:
        if (is_space(c)) return result::more;
        if (c == '"') {
            key_.clear();
            state_ = state::key;
            return result::more;
        }
        if (c == '}') break;  // the object's end
        return result::bad;
    case state::key:
        if (c == '"') {
            if (key_ == "name") key_kind_ = key_kind::name;
            else if (key_ == "arguments" || key_ == "parameters") key_kind_ = key_kind::arguments;
            else if (key_ == "id") key_kind_ = key_kind::id;
            else if (key_ == "type") key_kind_ = key_kind::skipped;
            else return result::bad;
            if ((key_kind_ == key_kind::name && have_name_) || (key_kind_ == key_kind::arguments && have_args_))
                return result::bad;
            state_ = state::colon;
            return result::more;
        }
        if (c == '\\' || key_.size() >= 16) return result::bad;
        key_.push_back(c);
        return result::more;
    case state::colon:
        if (is_space(c)) return result::more;
        if (c != ':') return result::bad;
        state_ = state::value;
        return result::more;
    case state::value:
        if (is_space(c)) return result::more;
        switch (key_kind_) {
        case key_kind::name:
            if (c != '"') return result::bad;
            decoder_.reset();
            state_ = state::name;
            return result::more;
        case key_kind::id:
            if (c != '"') return result::bad;
            decoder_.reset();
            state_ = state::id;
            return result::more;
        case key_kind::arguments:
            have_args_ = true;
            maybe_begin(false);
            if (c == '{') {
                depth_ = 1;
                in_string_ = escape_ = false;
                emit_args("{");
                state_ = state::args_object;
                return result::more;
            }
            if (c == '"') {
                decoder_.reset();
                state_ = state::args_string;
                return result::more;
            }
            [[fallthrough]];
        case key_kind::skipped:
            scanner_ = json_value_scanner{};
            state_ = state::skip;
            return step(c);
        }
        return result::bad;
    case state::name:
    case state::id: {
        std::string& target = state_ == state::name ? name_ : id_;
        const auto r = decoder_.feed(c, target);
        if (r == json_string_decoder::result::bad || target.size() > 256) return result::bad;
        if (r == json_string_decoder::result::done) {
            if (state_ == state::name) {
                if (name_.empty()) return result::bad;
                have_name_ = true;
                state_ = state::after_value;
                maybe_begin(false);
            } else {
                state_ = state::after_value;
            }
        }
        return result::more;
    }
    case state::args_object: {
        const char text[1] = {c};
        emit_args(std::string_view(text, 1));
        if (in_string_) {
            if (escape_) escape_ = false;
            else if (c == '\\') escape_ = true;
            else if (c == '"') in_string_ = false;
        } else if (c == '"') {
            in_string_ = true;
        } else if (c == '{' || c == '[') {
            ++depth_;
        } else if ((c == '}' || c == ']') && --depth_ == 0) {
            state_ = state::after_value;
        }
        return result::more;
    }
    case state::args_string: {
        std::string decoded;
        const auto r = decoder_.feed(c, decoded);
        if (r == json_string_decoder::result::bad) return begun_ ? result::more : result::bad;
        emit_args(decoded);
        if (r == json_string_decoder::result::done) state_ = state::after_value;
        return result::more;
    }
    case state::skip: {
        const auto r = scanner_.feed(c);
        if (r == json_value_scanner::result::bad) return result::bad;
        if (r == json_value_scanner::result::done) state_ = state::after_value;
        if (r == json_value_scanner::result::done_unconsumed) {
            state_ = state::after_value;
            return step(c);
        }
        return result::more;
    }
    case state::after_value:
        if (is_space(c)) return result::more;
        if (c == ',') {
            state_ = state::key_or_end;
            return result::more;
        }
        if (c == '}') break;
        return result::bad;
    }
    // The object's closing brace.
    if (!have_name_) return result::bad;
    maybe_begin(true);
    w_.end_call();
    return result::done;
}

void json_call_reader::finish() {
    if (begun_) w_.end_call();
}

// ---- values ----

namespace {

bool schema_says_string(const parse_options& options, std::string_view tool, std::string_view param) {
    for (const auto& t : options.tools) {
        if (t.name != tool || !t.parameters.is_object()) continue;
        const auto* props = t.parameters.as_object().if_contains("properties");
        if (props == nullptr || !props->is_object()) return false;
        const auto* p = props->as_object().if_contains(param);
        if (p == nullptr || !p->is_object()) return false;
        const auto* type = p->as_object().if_contains("type");
        if (type == nullptr) return false;
        if (type->is_string()) return type->as_string() == "string";
        return false;
    }
    return false;
}

}  // namespace

std::string raw_value_to_json(std::string_view value, const parse_options& options, std::string_view tool,
                              std::string_view param, int as_string) {
    const bool string = as_string == 1 || (as_string == -1 && schema_says_string(options, tool, param));
    if (!string) {
        boost::system::error_code ec;
        const boost::json::value v = boost::json::parse(value, ec);
        if (!ec) return boost::json::serialize(v);
    }
    return json_quote(value);
}

}  // namespace sluice::tools::detail
