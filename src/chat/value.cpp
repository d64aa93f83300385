#include "sluice/chat/value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "sluice/util/utf8.hpp"

namespace sluice::chat {

const value* call_args::get(std::size_t index, std::string_view name) const {
    for (const auto& [k, v] : named) {
        if (k == name) return &v;
    }
    return index < positional.size() ? &positional[index] : nullptr;
}

const value* value::object::find(std::string_view key) const {
    for (const auto& [k, v] : items) {
        if (k == key) return &v;
    }
    return nullptr;
}

void value::object::set(const std::string& key, value v) {
    for (auto& [k, old] : items) {
        if (k == key) {
            old = std::move(v);
            return;
        }
    }
    items.emplace_back(key, std::move(v));
}

void value::object::set_key(const value& key, value v) {
    const std::string k = key.str();
    if (!key.is_string() && raw_keys.empty()) {
        for (const auto& kv : items) raw_keys.emplace_back(kv.first);
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].first == k) {
            items[i].second = std::move(v);
            return;
        }
    }
    items.emplace_back(k, std::move(v));
    if (!raw_keys.empty() || !key.is_string()) raw_keys.push_back(key);
}

value value::object::key(std::size_t i) const { return raw_keys.empty() ? value(items[i].first) : raw_keys[i]; }

value value::markup(std::string s) {
    value v(std::move(s));
    v.safe_ = true;
    return v;
}

value value::generator(array items) {
    value v(std::move(items));
    v.consumed_ = std::make_shared<bool>(false);
    return v;
}

value::array value::iterate() const {
    if (!is_array()) return {};
    if (consumed_) {
        if (*consumed_) return {};
        *consumed_ = true;
    }
    return *arr_;
}

value value::callable(function f, std::string name) {
    value v(kind::callable);
    v.fn_ = std::make_shared<function>(std::move(f));
    v.str_ = std::move(name);
    return v;
}

value value::from_json(const boost::json::value& j) {
    switch (j.kind()) {
        case boost::json::kind::null: return none();
        case boost::json::kind::bool_: return value(j.get_bool());
        case boost::json::kind::int64: return value(static_cast<std::int64_t>(j.get_int64()));
        case boost::json::kind::uint64: return value(static_cast<std::int64_t>(j.get_uint64()));
        case boost::json::kind::double_: return value(j.get_double());
        case boost::json::kind::string: return value(std::string(j.get_string()));
        case boost::json::kind::array: {
            array a;
            for (const auto& x : j.get_array()) a.push_back(from_json(x));
            return value(std::move(a));
        }
        case boost::json::kind::object: {
            object o;
            for (const auto& kv : j.get_object()) o.items.emplace_back(std::string(kv.key()), from_json(kv.value()));
            return value(std::move(o));
        }
    }
    return none();
}

bool value::truthy() const noexcept {
    if (consumed_) return true;  // a generator object is always true
    switch (kind_) {
        case kind::undefined:
        case kind::none: return false;
        case kind::boolean:
        case kind::integer: return int_ != 0;
        case kind::floating: return float_ != 0.0;
        case kind::string: return !str_.empty();
        case kind::array: return !arr_->empty();
        case kind::object: return !obj_->items.empty();
        case kind::callable: return true;
    }
    return false;
}

std::string python_float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    char buf[64];
    // Shortest digits that round-trip, as Python's repr does.
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, end);  // d.ddddde[+-]XX
    const auto e_pos = sci.find('e');
    std::string mant = sci.substr(0, e_pos);
    const int exp = std::stoi(sci.substr(e_pos + 1));
    const bool neg = mant[0] == '-';
    if (neg) mant.erase(0, 1);
    std::string digits;
    for (char c : mant) {
        if (c != '.') digits += c;
    }
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    std::string out = neg ? "-" : "";
    if (exp >= -5 && exp < 16) {  // Python uses fixed notation in this range
        if (exp >= 0) {
            std::string intpart = digits.substr(0, std::min<std::size_t>(digits.size(), static_cast<std::size_t>(exp) + 1));
            intpart.append(static_cast<std::size_t>(exp) + 1 - intpart.size(), '0');
            std::string frac = digits.size() > static_cast<std::size_t>(exp) + 1 ? digits.substr(static_cast<std::size_t>(exp) + 1) : "0";
            out += intpart + "." + frac;
        } else {
            out += "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
        }
        return out;
    }
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    return out + e;
}

std::size_t code_point_count(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t pos = 0, len = 0; pos < s.size(); pos += len) {
        (void)utf8::decode(s, pos, len);
        ++n;
    }
    return n;
}

namespace {

std::string py_string_repr(const std::string& s) {
    // Python prefers single quotes unless the string contains one and no double quote.
    const bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
    const char q = has_single && !has_double ? '"' : '\'';
    std::string out(1, q);
    for (unsigned char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == static_cast<unsigned char>(q)) out += std::string("\\") + q;
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7F) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + q;
}

void json_string(std::string& out, const std::string& s) {
    out += '"';
    for (std::size_t pos = 0, n = 0; pos < s.size(); pos += n) {
        const char32_t cp = utf8::decode(s, pos, n);
        switch (cp) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (cp < 0x20) {
                    char b[8];
                    std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(cp));
                    out += b;
                } else {
                    out.append(s, pos, n);  // ensure_ascii=False keeps the character itself
                }
        }
    }
    out += '"';
}

}  // namespace

std::string value::str() const {
    if (consumed_) return "<generator object at 0x7f0000000000>";
    switch (kind_) {
        case kind::undefined: return "";
        case kind::none: return "None";
        case kind::boolean: return int_ ? "True" : "False";
        case kind::integer: return std::to_string(int_);
        case kind::floating: return python_float_repr(float_);
        case kind::string: return str_;
        case kind::callable: return "<function " + str_ + ">";
        default: return repr();
    }
}

std::string value::repr() const {
    switch (kind_) {
        case kind::string: return py_string_repr(str_);
        case kind::array: {
            std::string out = "[";
            for (std::size_t i = 0; i < arr_->size(); ++i) out += (i ? ", " : "") + (*arr_)[i].repr();
            return out + "]";
        }
        case kind::object: {
            if (obj_->is_namespace) return "<Namespace>";
            std::string out = "{";
            for (std::size_t i = 0; i < obj_->items.size(); ++i) {
                out += (i ? ", " : "") + obj_->key(i).repr() + ": " + obj_->items[i].second.repr();
            }
            return out + "}";
        }
        default: return str();
    }
}

void value::json_into(std::string& out, int indent, int depth, std::string_view item_sep, std::string_view key_sep,
                      bool sort_keys) const {
    auto newline = [&](int d) {
        if (indent < 0) return;
        out += '\n';
        out.append(static_cast<std::size_t>(indent * d), ' ');
    };
    switch (kind_) {
        case kind::undefined:
        case kind::none: out += "null"; return;
        case kind::boolean: out += int_ ? "true" : "false"; return;
        case kind::integer: out += std::to_string(int_); return;
        case kind::floating:
            if (std::isnan(float_)) out += "NaN";
            else if (std::isinf(float_)) out += float_ > 0 ? "Infinity" : "-Infinity";
            else out += python_float_repr(float_);
            return;
        case kind::string: json_string(out, str_); return;
        case kind::callable: json_string(out, str()); return;
        case kind::array: {
            if (arr_->empty()) {
                out += "[]";
                return;
            }
            out += '[';
            for (std::size_t i = 0; i < arr_->size(); ++i) {
                if (i) out += item_sep;
                newline(depth + 1);
                (*arr_)[i].json_into(out, indent, depth + 1, item_sep, key_sep, sort_keys);
            }
            newline(depth);
            out += ']';
            return;
        }
        case kind::object: {
            if (obj_->items.empty()) {
                out += "{}";
                return;
            }
            std::vector<const std::pair<std::string, value>*> entries;
            for (const auto& kv : obj_->items) entries.push_back(&kv);
            if (sort_keys) std::sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
            out += '{';
            for (std::size_t i = 0; i < entries.size(); ++i) {
                if (i) out += item_sep;
                newline(depth + 1);
                json_string(out, entries[i]->first);
                out += key_sep;
                entries[i]->second.json_into(out, indent, depth + 1, item_sep, key_sep, sort_keys);
            }
            newline(depth);
            out += '}';
            return;
        }
    }
}

std::string value::to_json(int indent, std::string_view item_sep, std::string_view key_sep, bool sort_keys) const {
    std::string out;
    json_into(out, indent, 0, item_sep, key_sep, sort_keys);
    return out;
}

std::string value::type_name() const {
    if (consumed_) return "generator";
    switch (kind_) {
        case kind::undefined: return "Undefined";
        case kind::none: return "NoneType";
        case kind::boolean: return "bool";
        case kind::integer: return "int";
        case kind::floating: return "float";
        case kind::string: return "str";
        case kind::array: return "list";
        case kind::object: return obj_->is_namespace ? "Namespace" : "dict";
        case kind::callable: return "function";
    }
    return "?";
}

bool value::identical(const value& o) const noexcept {
    if (kind_ != o.kind_) return false;
    switch (kind_) {
        case kind::array: return arr_ == o.arr_;
        case kind::object: return obj_ == o.obj_;
        case kind::callable: return fn_ == o.fn_;
        default: return *this == o;
    }
}

bool operator==(const value& a, const value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
        return a.as_int() == b.as_int();
    }
    if (a.kind_ != b.kind_) return false;
    switch (a.kind_) {
        case value::kind::undefined:
        case value::kind::none: return true;
        case value::kind::string: return a.str_ == b.str_;
        case value::kind::array: return *a.arr_ == *b.arr_;
        case value::kind::object: {
            if (a.obj_->items.size() != b.obj_->items.size()) return false;
            for (const auto& [k, v] : a.obj_->items) {
                const value* o = b.obj_->find(k);
                if (o == nullptr || !(*o == v)) return false;
            }
            return true;
        }
        case value::kind::callable: return a.fn_ == b.fn_;
        default: return false;
    }
}

}  // namespace sluice::chat
