// Token-bucket rate limiting per client (API key, or address when auth is off):
// each bucket holds up to `burst` tokens and refills at `per_minute` / 60 tokens per
// second; a request takes one token or is refused with the seconds until one is
// available. The clock is injectable so tests are deterministic. Thread-safe.
//
// Memory is bounded by `max_clients` buckets. A bucket that has refilled to the burst is
// the same as no bucket, so forgetting it changes no answer; when a new client would pass
// the bound, those are dropped first. Only when every remembered client is still short of
// a full bucket (many addresses active at once) are the buckets closest to full forgotten
// as well -- the least any client gains by losing its bucket -- down to half the bound, so
// the sweep runs once per max_clients / 2 new clients. No client's bucket is ever reset
// wholesale with everyone else's.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sluice::http {

class token_bucket_limiter {
public:
    using clock_fn = std::function<std::chrono::steady_clock::time_point()>;
    static constexpr std::size_t default_max_clients = 100000;

    // per_minute <= 0 disables limiting. burst defaults to max(1, per_minute / 6).
    token_bucket_limiter(double per_minute, double burst, clock_fn clock = [] { return std::chrono::steady_clock::now(); },
                         std::size_t max_clients = default_max_clients);

    bool enabled() const noexcept { return rate_ > 0; }
    // 0 when allowed, else the whole seconds to wait (>= 1).
    int acquire(const std::string& client);
    // Buckets remembered now (<= max_clients).
    std::size_t clients() const;

private:
    struct bucket {
        double tokens;
        std::chrono::steady_clock::time_point last;
    };
    using time_point = std::chrono::steady_clock::time_point;
    // Tokens the bucket holds at `now` (refilled, capped at the burst).
    double tokens_at(const bucket& b, time_point now) const noexcept;
    // Makes room for one new client (mutex_ held); see the contract above.
    void evict(time_point now);

    double rate_;   // tokens per second
    double burst_;
    clock_fn clock_;
    std::size_t max_clients_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace sluice::http
