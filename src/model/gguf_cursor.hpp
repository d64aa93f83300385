// Bounds-checked little-endian reader over the GGUF bytes (private to the model layer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "sluice/util/error.hpp"

namespace sluice::model::detail {

class gguf_cursor {
public:
    gguf_cursor(std::span<const std::byte> bytes, const std::string& source)
        : bytes_(bytes), source_(source) {}

    std::size_t pos() const noexcept { return pos_; }
    std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
    const std::byte* here() const noexcept { return bytes_.data() + pos_; }

    [[noreturn]] void fail(const std::string& what, std::size_t at) const {
        throw error(errc::invalid_format,
                    source_ + ": " + what + " at byte offset " + std::to_string(at));
    }

    void need(std::uint64_t n, const char* what) const {
        if (n > remaining()) {
            fail(std::string("truncated file: ") + what + " needs " + std::to_string(n) +
                     " bytes but only " + std::to_string(remaining()) + " remain",
                 pos_);
        }
    }

    template <typename T>
    T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, here(), sizeof v);
        pos_ += sizeof v;
        return v;
    }

    void skip(std::uint64_t n, const char* what) {
        need(n, what);
        pos_ += static_cast<std::size_t>(n);
    }

    std::string_view read_string(const char* what) {
        const std::size_t at = pos_;
        const auto len = read<std::uint64_t>(what);
        if (len > remaining()) {
            fail(std::string(what) + " length " + std::to_string(len) + " exceeds the " +
                     std::to_string(remaining()) + " bytes that remain",
                 at);
        }
        std::string_view s(reinterpret_cast<const char*>(here()), static_cast<std::size_t>(len));
        pos_ += static_cast<std::size_t>(len);
        return s;
    }

    void seek(std::size_t p) {
        if (p > bytes_.size()) fail("offset past end of file", p);
        pos_ = p;
    }

private:
    std::span<const std::byte> bytes_;
    const std::string& source_;
    std::size_t pos_ = 0;
};

}  // namespace sluice::model::detail
