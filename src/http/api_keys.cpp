#include "sluice/http/api_keys.hpp"

#include <sodium.h>

#include <stdexcept>

namespace sluice::http {
namespace {

std::array<unsigned char, 32> hash_of(std::string_view s) {
    std::array<unsigned char, 32> h{};
    crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char*>(s.data()), s.size(), nullptr, 0);
    return h;
}

}  // namespace

api_keys::api_keys(const std::vector<std::string>& keys) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    for (const auto& k : keys) {
        if (!k.empty()) hashes_.push_back(hash_of(k));
    }
}

bool api_keys::accepts(std::string_view presented) const {
    const auto h = hash_of(presented);
    int ok = 0;
    for (const auto& k : hashes_) ok |= sodium_memcmp(h.data(), k.data(), h.size()) == 0 ? 1 : 0;  // every key, every time
    return ok != 0 && !presented.empty();
}

std::string api_keys::id_of(std::string_view key) {
    const auto h = hash_of(key);
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = "key_";
    for (std::size_t i = 0; i < 8; ++i) {
        id += hex[h[i] >> 4];
        id += hex[h[i] & 15];
    }
    return id;
}

std::string_view api_keys::extract(std::string_view authorization, std::string_view x_api_key) {
    constexpr std::string_view bearer = "Bearer ";
    if (authorization.size() > bearer.size() && authorization.substr(0, bearer.size()) == bearer) {
        return authorization.substr(bearer.size());
    }
    return x_api_key;
}

}  // namespace sluice::http
