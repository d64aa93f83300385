#include "sluice/model/gguf_value.hpp"

#include <cstring>
#include <limits>
#include <sstream>

#include "sluice/util/error.hpp"

namespace sluice::model {
namespace {

[[noreturn]] void wrong_type(std::string_view what, std::string_view wanted, gguf_type got) {
    throw error(errc::wrong_type, std::string(what) + ": expected " + std::string(wanted) +
                                      ", found " + std::string(name_of(got)));
}

template <typename T>
T load_le(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// Reads element i of a fixed-size array as a double (or int64 when integral).
double element_as_double(const gguf_array& a, std::size_t i) {
    const std::byte* p = a.raw + i * scalar_size(a.element_type);
    switch (a.element_type) {
        case gguf_type::uint8: return load_le<std::uint8_t>(p);
        case gguf_type::int8: return load_le<std::int8_t>(p);
        case gguf_type::uint16: return load_le<std::uint16_t>(p);
        case gguf_type::int16: return load_le<std::int16_t>(p);
        case gguf_type::uint32: return load_le<std::uint32_t>(p);
        case gguf_type::int32: return load_le<std::int32_t>(p);
        case gguf_type::float32: return load_le<float>(p);
        case gguf_type::uint64: return static_cast<double>(load_le<std::uint64_t>(p));
        case gguf_type::int64: return static_cast<double>(load_le<std::int64_t>(p));
        case gguf_type::float64: return load_le<double>(p);
        case gguf_type::boolean: return load_le<std::uint8_t>(p) != 0 ? 1.0 : 0.0;
        default: return 0.0;
    }
}

std::int64_t element_as_int(const gguf_array& a, std::size_t i, std::string_view what) {
    const std::byte* p = a.raw + i * scalar_size(a.element_type);
    switch (a.element_type) {
        case gguf_type::uint8: return load_le<std::uint8_t>(p);
        case gguf_type::int8: return load_le<std::int8_t>(p);
        case gguf_type::uint16: return load_le<std::uint16_t>(p);
        case gguf_type::int16: return load_le<std::int16_t>(p);
        case gguf_type::uint32: return load_le<std::uint32_t>(p);
        case gguf_type::int32: return load_le<std::int32_t>(p);
        case gguf_type::int64: return load_le<std::int64_t>(p);
        case gguf_type::uint64: {
            const auto v = load_le<std::uint64_t>(p);
            if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                throw error(errc::out_of_range, std::string(what) + ": element too large");
            }
            return static_cast<std::int64_t>(v);
        }
        default: wrong_type(what, "integer array", a.element_type);
    }
}

}  // namespace

std::string_view name_of(gguf_type type) noexcept {
    switch (type) {
        case gguf_type::uint8: return "uint8";
        case gguf_type::int8: return "int8";
        case gguf_type::uint16: return "uint16";
        case gguf_type::int16: return "int16";
        case gguf_type::uint32: return "uint32";
        case gguf_type::int32: return "int32";
        case gguf_type::float32: return "float32";
        case gguf_type::boolean: return "bool";
        case gguf_type::string: return "string";
        case gguf_type::array: return "array";
        case gguf_type::uint64: return "uint64";
        case gguf_type::int64: return "int64";
        case gguf_type::float64: return "float64";
    }
    return "unknown";
}

std::size_t scalar_size(gguf_type type) noexcept {
    switch (type) {
        case gguf_type::uint8:
        case gguf_type::int8:
        case gguf_type::boolean: return 1;
        case gguf_type::uint16:
        case gguf_type::int16: return 2;
        case gguf_type::uint32:
        case gguf_type::int32:
        case gguf_type::float32: return 4;
        case gguf_type::uint64:
        case gguf_type::int64:
        case gguf_type::float64: return 8;
        case gguf_type::string:
        case gguf_type::array: return 0;
    }
    return 0;
}

bool gguf_value::is_integer() const noexcept {
    return std::holds_alternative<std::uint64_t>(value_) ||
           std::holds_alternative<std::int64_t>(value_);
}

bool gguf_value::is_number() const noexcept {
    return is_integer() || std::holds_alternative<double>(value_);
}

std::uint64_t gguf_value::as_uint(std::string_view what) const {
    if (const auto* u = std::get_if<std::uint64_t>(&value_)) return *u;
    if (const auto* i = std::get_if<std::int64_t>(&value_)) {
        if (*i < 0) throw error(errc::out_of_range, std::string(what) + ": negative value");
        return static_cast<std::uint64_t>(*i);
    }
    wrong_type(what, "integer", type_);
}

std::int64_t gguf_value::as_int(std::string_view what) const {
    if (const auto* i = std::get_if<std::int64_t>(&value_)) return *i;
    if (const auto* u = std::get_if<std::uint64_t>(&value_)) {
        if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            throw error(errc::out_of_range, std::string(what) + ": value too large");
        }
        return static_cast<std::int64_t>(*u);
    }
    wrong_type(what, "integer", type_);
}

double gguf_value::as_double(std::string_view what) const {
    if (const auto* d = std::get_if<double>(&value_)) return *d;
    if (const auto* u = std::get_if<std::uint64_t>(&value_)) return static_cast<double>(*u);
    if (const auto* i = std::get_if<std::int64_t>(&value_)) return static_cast<double>(*i);
    wrong_type(what, "number", type_);
}

bool gguf_value::as_bool(std::string_view what) const {
    if (const auto* b = std::get_if<bool>(&value_)) return *b;
    wrong_type(what, "bool", type_);
}

std::string_view gguf_value::as_string(std::string_view what) const {
    if (const auto* s = std::get_if<std::string_view>(&value_)) return *s;
    wrong_type(what, "string", type_);
}

const gguf_array& gguf_value::as_array(std::string_view what) const {
    if (const auto* a = std::get_if<std::shared_ptr<const gguf_array>>(&value_)) return **a;
    wrong_type(what, "array", type_);
}

std::vector<std::string_view> gguf_value::string_array(std::string_view what) const {
    const auto& a = as_array(what);
    if (a.element_type != gguf_type::string) wrong_type(what, "array of string", a.element_type);
    return a.strings;
}

std::vector<std::int64_t> gguf_value::int_array(std::string_view what) const {
    const auto& a = as_array(what);
    std::vector<std::int64_t> out(a.count);
    for (std::size_t i = 0; i < a.count; ++i) out[i] = element_as_int(a, i, what);
    return out;
}

std::vector<double> gguf_value::double_array(std::string_view what) const {
    const auto& a = as_array(what);
    if (scalar_size(a.element_type) == 0 || a.element_type == gguf_type::boolean) {
        wrong_type(what, "numeric array", a.element_type);
    }
    std::vector<double> out(a.count);
    for (std::size_t i = 0; i < a.count; ++i) out[i] = element_as_double(a, i);
    return out;
}

std::string gguf_value::to_display(std::size_t max_items) const {
    std::ostringstream os;
    if (const auto* u = std::get_if<std::uint64_t>(&value_)) {
        os << *u;
    } else if (const auto* i = std::get_if<std::int64_t>(&value_)) {
        os << *i;
    } else if (const auto* d = std::get_if<double>(&value_)) {
        os << *d;
    } else if (const auto* b = std::get_if<bool>(&value_)) {
        os << (*b ? "true" : "false");
    } else if (const auto* s = std::get_if<std::string_view>(&value_)) {
        os << '"' << *s << '"';
    } else {
        const auto& a = as_array("value");
        os << "[" << name_of(a.element_type) << " x " << a.count << "]";
        if (a.count > 0 && max_items > 0) os << " ";
        const std::size_t n = a.count < max_items ? a.count : max_items;
        for (std::size_t k = 0; k < n; ++k) {
            if (k) os << ", ";
            if (a.element_type == gguf_type::string) {
                os << '"' << a.strings[k] << '"';
            } else if (a.element_type == gguf_type::array) {
                os << a.nested[k].to_display(max_items);
            } else {
                os << element_as_double(a, k);
            }
        }
        if (n < a.count) os << ", ...";
    }
    return os.str();
}

}  // namespace sluice::model
