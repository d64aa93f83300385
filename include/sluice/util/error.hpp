// The one project error type. Every recoverable failure throws (or returns) a
// sluice::error carrying a code, so the upper layers can map it to one exit
// status or HTTP status without parsing messages.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace sluice {

enum class errc : std::uint8_t {
    io,               // a file could not be opened, read or mapped
    invalid_format,   // bytes do not follow the format (GGUF, UTF-8, ...)
    unsupported,      // valid input that sluice does not handle (yet)
    missing_key,      // required metadata key absent
    wrong_type,       // metadata/JSON value of the wrong type
    out_of_range,     // a number outside its allowed range
    invalid_argument  // bad caller input (CLI flag, request field)
};

const char* to_string(errc code) noexcept;

class error : public std::runtime_error {
public:
    error(errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
    errc code() const noexcept { return code_; }

private:
    errc code_;
};

}  // namespace sluice
