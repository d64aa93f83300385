// Helpers for building and patching GGUF byte images in tests.
#pragma once

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/model/gguf_writer.hpp"

namespace sluice::test {

inline std::vector<std::byte> f32_bytes(std::size_t n, float start = 0.0f) {
    std::vector<std::byte> out(n * 4);
    for (std::size_t i = 0; i < n; ++i) {
        const float v = start + static_cast<float>(i);
        std::memcpy(out.data() + i * 4, &v, 4);
    }
    return out;
}

// Offset of the first byte after the GGUF string `s` (8-byte length + bytes) in `bytes`.
inline std::size_t after_string(const std::vector<std::byte>& bytes, const std::string& s) {
    std::string needle(8, '\0');
    const std::uint64_t len = s.size();
    std::memcpy(needle.data(), &len, 8);
    needle += s;
    const std::string_view hay(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const auto at = hay.find(needle);
    if (at == std::string_view::npos) throw std::runtime_error("string not found: " + s);
    return at + needle.size();
}

template <typename T>
void patch(std::vector<std::byte>& bytes, std::size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

}  // namespace sluice::test
