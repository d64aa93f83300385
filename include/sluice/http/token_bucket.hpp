// Token-bucket rate limiting per client (API key, or address when auth is off):
// each bucket holds up to `burst` tokens and refills at `per_minute` / 60 tokens per
// second; a request takes one token or is refused with the seconds until one is
// available. The clock is injectable so tests are deterministic. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sluice::http {

class token_bucket_limiter {
public:
    using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

    // per_minute <= 0 disables limiting. burst defaults to max(1, per_minute / 6).
    token_bucket_limiter(double per_minute, double burst, clock_fn clock = [] { return std::chrono::steady_clock::now(); });

    bool enabled() const noexcept { return rate_ > 0; }
    // 0 when allowed, else the whole seconds to wait (>= 1).
    int acquire(const std::string& client);

private:
    struct bucket {
        double tokens;
        std::chrono::steady_clock::time_point last;
    };
    double rate_;   // tokens per second
    double burst_;
    clock_fn clock_;
    std::mutex mutex_;
    std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace sluice::http
