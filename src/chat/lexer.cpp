#include "lexer.hpp"

#include <cctype>

#include "sluice/chat/jinja.hpp"
#include "sluice/util/utf8.hpp"

namespace sluice::chat::detail {
namespace {

// A piece of the template before whitespace rules are applied.
struct part {
    bool is_text = true;
    std::string text;                 // text
    std::vector<token> tokens;        // tag: begin .. end tokens
    bool block_like = false;          // {% %} or {# #} (whitespace rules apply), not {{ }}
    char left = 0, right = 0;         // '-', '+' or 0
    bool comment = false;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

class lexer {
public:
    explicit lexer(std::string_view src) : s_(src) {}

    std::vector<part> run() {
        std::vector<part> parts;
        std::string text;
        while (pos_ < s_.size()) {
            const std::size_t open = find_open();
            if (open == std::string_view::npos) {
                text.append(s_.substr(pos_));
                pos_ = s_.size();
                break;
            }
            text.append(s_.substr(pos_, open - pos_));
            advance_to(open);
            const char kind = s_[pos_ + 1];
            parts.push_back({true, std::move(text), {}, false, 0, 0, false});
            text.clear();
            if (kind == '#') {
                parts.push_back(lex_comment());
            } else if (kind == '%' && is_raw()) {
                lex_raw(parts);
            } else {
                parts.push_back(lex_tag(kind == '%'));
            }
        }
        parts.push_back({true, std::move(text), {}, false, 0, 0, false});
        return parts;
    }

private:
    std::size_t find_open() const {
        for (std::size_t p = s_.find('{', pos_); p != std::string_view::npos; p = s_.find('{', p + 1)) {
            if (p + 1 < s_.size() && (s_[p + 1] == '{' || s_[p + 1] == '%' || s_[p + 1] == '#')) return p;
        }
        return std::string_view::npos;
    }

    void advance_to(std::size_t p) {
        for (; pos_ < p; ++pos_) {
            if (s_[pos_] == '\n') ++line_;
        }
    }

    [[noreturn]] void fail(const std::string& msg) const { throw template_error(msg, line_); }

    part lex_comment() {
        part p;
        p.is_text = false;
        p.block_like = true;
        p.comment = true;
        pos_ += 2;
        if (pos_ < s_.size() && (s_[pos_] == '-' || s_[pos_] == '+')) p.left = s_[pos_];
        const std::size_t end = s_.find("#}", pos_);
        if (end == std::string_view::npos) fail("unterminated comment");
        if (end > pos_ && (s_[end - 1] == '-' || s_[end - 1] == '+')) p.right = s_[end - 1];
        advance_to(end + 2);
        return p;
    }

    // {% raw %} ... {% endraw %}: the text in between is kept as it is.
    bool is_raw() const {
        std::size_t p = pos_ + 2;
        if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) ++p;
        while (p < s_.size() && is_space(s_[p])) ++p;
        if (s_.substr(p, 3) != "raw") return false;
        p += 3;
        while (p < s_.size() && is_space(s_[p])) ++p;
        if (p < s_.size() && s_[p] == '-') ++p;
        return s_.substr(p, 2) == "%}";
    }

    void lex_raw(std::vector<part>& parts) {
        part open;
        open.is_text = false;
        open.block_like = true;
        open.comment = true;  // produces no tokens
        if (s_[pos_ + 2] == '-' || s_[pos_ + 2] == '+') open.left = s_[pos_ + 2];
        const std::size_t close = s_.find("%}", pos_);
        if (s_[close - 1] == '-') open.right = '-';
        advance_to(close + 2);
        // find {% endraw %}
        std::size_t search = pos_;
        for (;;) {
            const std::size_t b = s_.find("{%", search);
            if (b == std::string_view::npos) fail("unterminated raw block");
            std::size_t p = b + 2;
            char left = 0;
            if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) left = s_[p++];
            while (p < s_.size() && is_space(s_[p])) ++p;
            if (s_.substr(p, 6) == "endraw") {
                p += 6;
                while (p < s_.size() && is_space(s_[p])) ++p;
                char right = 0;
                if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) right = s_[p++];
                if (s_.substr(p, 2) != "%}") fail("malformed endraw");
                parts.push_back(std::move(open));
                parts.push_back({true, std::string(s_.substr(pos_, b - pos_)), {}, false, 0, 0, false});
                part close_part;
                close_part.is_text = false;
                close_part.block_like = true;
                close_part.comment = true;
                close_part.left = left;
                close_part.right = right;
                advance_to(p + 2);
                parts.push_back(std::move(close_part));
                return;
            }
            search = b + 2;
        }
    }

    part lex_tag(bool block) {
        part p;
        p.is_text = false;
        p.block_like = block;
        p.tokens.push_back({block ? token::kind::block_begin : token::kind::var_begin, "", line_});
        pos_ += 2;
        if (pos_ < s_.size() && (s_[pos_] == '-' || (block && s_[pos_] == '+'))) p.left = s_[pos_++];
        int depth = 0;  // brackets, so a dict literal's "}}" does not end a {{ }} tag
        for (;;) {
            while (pos_ < s_.size() && is_space(s_[pos_])) {
                if (s_[pos_] == '\n') ++line_;
                ++pos_;
            }
            if (pos_ >= s_.size()) fail(block ? "unterminated '{%' tag" : "unterminated '{{' tag");
            const std::string_view rest = s_.substr(pos_);
            const std::string_view close = block ? "%}" : "}}";
            if (depth == 0) {
                if ((rest[0] == '-' || (block && rest[0] == '+')) && rest.substr(1, 2) == close) {
                    p.right = rest[0];
                    pos_ += 3;
                    break;
                }
                if (rest.substr(0, 2) == close) {
                    pos_ += 2;
                    break;
                }
            }
            const char c = rest[0];
            if (c == '\'' || c == '"') {
                p.tokens.push_back({token::kind::string, lex_string(c), line_});
            } else if (std::isdigit(static_cast<unsigned char>(c))) {
                p.tokens.push_back(lex_number());
            } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
                std::size_t e = pos_;
                while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) ++e;
                p.tokens.push_back({token::kind::name, std::string(s_.substr(pos_, e - pos_)), line_});
                pos_ = e;
            } else {
                static const char* const ops[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                                  ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", ";"};
                bool matched = false;
                for (const char* op : ops) {
                    const std::string_view o(op);
                    if (rest.substr(0, o.size()) == o) {
                        if (o == "(" || o == "[" || o == "{") ++depth;
                        if (o == ")" || o == "]" || o == "}") --depth;
                        p.tokens.push_back({token::kind::op, std::string(o), line_});
                        pos_ += o.size();
                        matched = true;
                        break;
                    }
                }
                if (!matched) fail(std::string("unexpected character '") + c + "'");
            }
        }
        p.tokens.push_back({block ? token::kind::block_end : token::kind::var_end, "", line_});
        return p;
    }

    std::string lex_string(char quote) {
        std::string out;
        ++pos_;
        while (pos_ < s_.size() && s_[pos_] != quote) {
            char c = s_[pos_++];
            if (c == '\n') ++line_;
            if (c != '\\' || pos_ >= s_.size()) {
                out += c;
                continue;
            }
            c = s_[pos_++];
            switch (c) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case '0': out += '\0'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'v': out += '\v'; break;
                case 'a': out += '\a'; break;
                case '\\': out += '\\'; break;
                case '\'': out += '\''; break;
                case '"': out += '"'; break;
                case '\n': ++line_; break;  // line continuation
                case 'x':
                case 'u':
                case 'U': {
                    const std::size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                    if (pos_ + n > s_.size()) fail("truncated escape in string");
                    std::uint32_t cp = 0;
                    for (std::size_t k = 0; k < n; ++k) {
                        const char h = s_[pos_ + k];
                        const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                        if (d < 0) fail(std::string("invalid \\") + c + " escape in string");
                        cp = cp * 16 + static_cast<std::uint32_t>(d);
                    }
                    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("escape is not a valid code point");
                    pos_ += n;
                    utf8::append(out, static_cast<char32_t>(cp));
                    break;
                }
                default:
                    out += '\\';
                    out += c;
            }
        }
        if (pos_ >= s_.size()) fail("unterminated string");
        ++pos_;
        return out;
    }

    token lex_number() {
        std::size_t e = pos_;
        auto digits = [&] {
            while (e < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) ++e;
        };
        digits();
        bool is_float = false;
        if (e + 1 < s_.size() && s_[e] == '.' && std::isdigit(static_cast<unsigned char>(s_[e + 1]))) {
            ++e;
            digits();
            is_float = true;
        }
        if (e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
            std::size_t x = e + 1;
            if (x < s_.size() && (s_[x] == '+' || s_[x] == '-')) ++x;
            if (x < s_.size() && std::isdigit(static_cast<unsigned char>(s_[x]))) {
                e = x;
                digits();
                is_float = true;
            }
        }
        std::string text;
        for (char ch : s_.substr(pos_, e - pos_)) {
            if (ch != '_') text += ch;
        }
        pos_ = e;
        return {is_float ? token::kind::floating : token::kind::integer, text, line_};
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    int line_ = 1;
};

// Jinja2's whitespace rules on the text around tags. Both amounts are judged on the
// original text (lstrip_blocks asks whether a tag starts a line in the source, even when
// trim_blocks removes the newline before it), then applied together.
void apply_whitespace_rules(std::vector<part>& parts) {
    std::vector<std::size_t> lead(parts.size(), 0), trail(parts.size(), 0);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].is_text) continue;
        const part& tag = parts[i];
        if (i > 0 && parts[i - 1].is_text) {  // text before the tag
            const std::string& t = parts[i - 1].text;
            std::size_t k = t.size();
            if (tag.left == '-') {
                while (k > 0 && is_space(t[k - 1])) --k;
                trail[i - 1] = t.size() - k;
            } else if (tag.block_like && tag.left != '+') {  // lstrip_blocks
                while (k > 0 && (t[k - 1] == ' ' || t[k - 1] == '\t')) --k;
                const bool line_start = k == 0 ? i == 1 : t[k - 1] == '\n';
                if (line_start) trail[i - 1] = t.size() - k;
            }
        }
        if (i + 1 < parts.size() && parts[i + 1].is_text) {  // text after the tag
            const std::string& t = parts[i + 1].text;
            if (tag.right == '-') {
                std::size_t k = 0;
                while (k < t.size() && is_space(t[k])) ++k;
                lead[i + 1] = k;
            } else if (tag.block_like && tag.right != '+') {  // trim_blocks
                if (!t.empty() && t[0] == '\n') lead[i + 1] = 1;
                else if (t.size() >= 2 && t[0] == '\r' && t[1] == '\n') lead[i + 1] = 2;
            }
        }
    }
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (!parts[i].is_text) continue;
        std::string& t = parts[i].text;
        if (lead[i] + trail[i] >= t.size()) {
            t.clear();
        } else {
            t.resize(t.size() - trail[i]);
            t.erase(0, lead[i]);
        }
    }
}

}  // namespace

std::vector<token> lex(std::string_view source) {
    // keep_trailing_newline=False: one trailing newline of the source is not output.
    if (source.size() >= 2 && source.substr(source.size() - 2) == "\r\n") source.remove_suffix(2);
    else if (!source.empty() && source.back() == '\n') source.remove_suffix(1);
    auto parts = lexer(source).run();
    apply_whitespace_rules(parts);
    std::vector<token> out;
    int line = 1;
    for (auto& p : parts) {
        if (p.is_text) {
            if (!p.text.empty()) out.push_back({token::kind::text, std::move(p.text), line});
            continue;
        }
        for (auto& t : p.tokens) {
            line = t.line;
            out.push_back(std::move(t));
        }
    }
    out.push_back({token::kind::eof, "", line});
    return out;
}

}  // namespace sluice::chat::detail
