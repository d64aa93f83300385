// API keys, checked in constant time (libsodium): a presented key is hashed and
// compared with every configured key's hash, so neither the key's content nor its
// length shows in the timing. Keys are never logged.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::http {

class api_keys {
public:
    explicit api_keys(const std::vector<std::string>& keys);

    bool required() const noexcept { return !hashes_.empty(); }
    bool accepts(std::string_view presented) const;
    // The key from "Authorization: Bearer KEY" or "x-api-key: KEY" ("" when none).
    static std::string_view extract(std::string_view authorization, std::string_view x_api_key);

private:
    std::vector<std::array<unsigned char, 32>> hashes_;
};

}  // namespace sluice::http
