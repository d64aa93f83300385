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
    // An opaque id of a key for logs: "key_" + 16 hex digits of its BLAKE2b hash. The same
    // key always has the same id (across restarts, so log lines can be grouped by key);
    // the id does not reveal the key (a key with little entropy could be guessed from it,
    // so keys should be random, as docs/security.md says).
    static std::string id_of(std::string_view key);

private:
    std::vector<std::array<unsigned char, 32>> hashes_;
};

}  // namespace sluice::http
