// The dynamic value of the template engine, with Python semantics (the chat templates
// of real models are written against Jinja2 running on Python): truthiness, str() and
// repr(), ordered dicts, shared (reference) lists and dicts, callables.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::chat {

class value;

struct call_args {
    std::vector<value> positional;
    std::vector<std::pair<std::string, value>> named;
    const value* get(std::size_t index, std::string_view name) const;  // positional or named
};

using function = std::function<value(const call_args&)>;

class value {
public:
    enum class kind { undefined, none, boolean, integer, floating, string, array, object, callable };
    using array = std::vector<value>;
    struct object {
        std::vector<std::pair<std::string, value>> items;  // insertion order, like a Python dict
        std::vector<value> raw_keys;                      // non-string keys ({1024: ...}); empty when all are strings
        bool is_namespace = false;                        // namespace(): attributes may be assigned
        const value* find(std::string_view key) const;
        void set(const std::string& key, value v);
        void set_key(const value& key, value v);          // keeps a non-string key's type
        value key(std::size_t i) const;                   // the key as a value
    };

    value() = default;  // undefined
    static value undefined(std::string hint) {
        value v;
        v.str_ = std::move(hint);
        return v;
    }
    static value none() { return value(kind::none); }
    value(bool b) : kind_(kind::boolean), int_(b) {}
    value(std::int64_t i) : kind_(kind::integer), int_(i) {}
    value(int i) : kind_(kind::integer), int_(i) {}
    value(double d) : kind_(kind::floating), float_(d) {}
    value(std::string s) : kind_(kind::string), str_(std::move(s)) {}
    value(const char* s) : kind_(kind::string), str_(s) {}
    value(array a) : kind_(kind::array), arr_(std::make_shared<array>(std::move(a))) {}
    value(object o) : kind_(kind::object), obj_(std::make_shared<object>(std::move(o))) {}
    static value callable(function f, std::string name);
    // Jinja2 Markup: a string marked safe; `markup + str` escapes the str.
    static value markup(std::string s);
    // A Python generator (map/select/... results): truthy, no len(), not JSON, single use.
    static value generator(array items);
    static value from_json(const boost::json::value& j);

    kind type() const noexcept { return kind_; }
    bool is_undefined() const noexcept { return kind_ == kind::undefined; }
    bool is_none() const noexcept { return kind_ == kind::none; }
    bool is_bool() const noexcept { return kind_ == kind::boolean; }
    bool is_int() const noexcept { return kind_ == kind::integer; }
    bool is_float() const noexcept { return kind_ == kind::floating; }
    bool is_number() const noexcept { return is_int() || is_float() || is_bool(); }
    bool is_string() const noexcept { return kind_ == kind::string; }
    bool is_array() const noexcept { return kind_ == kind::array; }
    bool is_object() const noexcept { return kind_ == kind::object; }
    bool is_callable() const noexcept { return kind_ == kind::callable; }

    bool is_markup() const noexcept { return safe_; }
    bool is_generator() const noexcept { return static_cast<bool>(consumed_); }
    // The items of a list or generator for iteration; a generator is exhausted afterwards.
    array iterate() const;
    bool as_bool() const noexcept { return int_ != 0; }
    std::int64_t as_int() const noexcept { return int_; }
    double as_double() const noexcept { return is_float() ? float_ : static_cast<double>(int_); }
    const std::string& as_string() const noexcept { return str_; }  // also the undefined hint / callable name
    array& items() const { return *arr_; }
    object& fields() const { return *obj_; }
    const function& fn() const { return *fn_; }

    bool truthy() const noexcept;
    std::string str() const;   // Python str()
    std::string repr() const;  // Python repr()
    // json.dumps(v, ensure_ascii=False, indent=..., separators=..., sort_keys=...)
    std::string to_json(int indent = -1, std::string_view item_sep = ", ", std::string_view key_sep = ": ",
                        bool sort_keys = false) const;
    std::string type_name() const;  // Python type name, for error messages

    bool identical(const value& o) const noexcept;  // `is` / sameas
    friend bool operator==(const value& a, const value& b);

private:
    explicit value(kind k) : kind_(k) {}
    void json_into(std::string& out, int indent, int depth, std::string_view item_sep, std::string_view key_sep,
                   bool sort_keys) const;

    kind kind_ = kind::undefined;
    std::int64_t int_ = 0;
    double float_ = 0;
    std::string str_;
    std::shared_ptr<array> arr_;
    std::shared_ptr<object> obj_;
    std::shared_ptr<function> fn_;
    std::shared_ptr<bool> consumed_;  // set for generators
    bool safe_ = false;               // Markup
};

// Python's repr() of a float: shortest round-trip digits, "1.0", "1e-05", "inf", "nan".
std::string python_float_repr(double d);
// Number of code points in UTF-8 text (Python len() of a str).
std::size_t code_point_count(std::string_view s);

}  // namespace sluice::chat
