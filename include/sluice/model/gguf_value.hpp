// A GGUF metadata value. Strings and array payloads are views into the file
// mapping: a gguf_value is valid only while its gguf_file is alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sluice::model {

enum class gguf_type : std::uint32_t {
    uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6,
    boolean = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12,
};

std::string_view name_of(gguf_type type) noexcept;
// Byte size of a fixed-size scalar type; 0 for string and array.
std::size_t scalar_size(gguf_type type) noexcept;

class gguf_value;

// An array: element type, count, and either the raw little-endian payload (fixed-size
// elements), string views, or nested values (arrays of arrays).
struct gguf_array {
    gguf_type element_type = gguf_type::uint8;
    std::uint64_t count = 0;
    const std::byte* raw = nullptr;          // fixed-size elements
    std::vector<std::string_view> strings;   // element_type == string
    std::vector<gguf_value> nested;          // element_type == array
};

class gguf_value {
public:
    using storage = std::variant<std::uint64_t, std::int64_t, double, bool, std::string_view,
                                 std::shared_ptr<const gguf_array>>;

    gguf_value() = default;
    gguf_value(gguf_type type, storage value) : type_(type), value_(std::move(value)) {}

    gguf_type type() const noexcept { return type_; }
    bool is_integer() const noexcept;
    bool is_number() const noexcept;

    // Typed views; each throws sluice::error(errc::wrong_type) naming `what` on mismatch.
    std::uint64_t as_uint(std::string_view what) const;  // any non-negative integer
    std::int64_t as_int(std::string_view what) const;    // any integer that fits int64
    double as_double(std::string_view what) const;       // any number
    bool as_bool(std::string_view what) const;
    std::string_view as_string(std::string_view what) const;
    const gguf_array& as_array(std::string_view what) const;

    // Array element accessors (throw wrong_type / out_of_range naming `what`).
    std::vector<std::string_view> string_array(std::string_view what) const;
    std::vector<std::int64_t> int_array(std::string_view what) const;
    std::vector<double> double_array(std::string_view what) const;

    // Human-readable rendering, arrays abbreviated to `max_items` elements.
    std::string to_display(std::size_t max_items = 8) const;

private:
    gguf_type type_ = gguf_type::uint8;
    storage value_ = std::uint64_t{0};
};

}  // namespace sluice::model
