#include "sluice/http/token_bucket.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sluice::http {

token_bucket_limiter::token_bucket_limiter(double per_minute, double burst, clock_fn clock, std::size_t max_clients)
    : rate_(per_minute > 0 ? per_minute / 60.0 : 0.0),
      burst_(burst > 0 ? burst : std::max(1.0, per_minute / 6.0)),
      clock_(std::move(clock)),
      max_clients_(std::max<std::size_t>(max_clients, 1)) {}

double token_bucket_limiter::tokens_at(const bucket& b, time_point now) const noexcept {
    const double elapsed = std::max(0.0, std::chrono::duration<double>(now - b.last).count());
    return std::min(burst_, b.tokens + elapsed * rate_);
}

void token_bucket_limiter::evict(time_point now) {
    std::erase_if(buckets_, [&](const auto& kv) { return tokens_at(kv.second, now) >= burst_; });
    if (buckets_.size() < max_clients_) return;
    // Everyone is still refilling: forget the fullest buckets, down to half the bound.
    std::vector<std::pair<double, const std::string*>> by_tokens;
    by_tokens.reserve(buckets_.size());
    for (const auto& [client, b] : buckets_) by_tokens.emplace_back(tokens_at(b, now), &client);
    const std::size_t drop = buckets_.size() - max_clients_ / 2;
    std::nth_element(by_tokens.begin(), by_tokens.begin() + static_cast<std::ptrdiff_t>(drop - 1), by_tokens.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> gone;
    gone.reserve(drop);
    for (std::size_t i = 0; i < drop; ++i) gone.push_back(*by_tokens[i].second);
    for (const auto& client : gone) buckets_.erase(client);
}

int token_bucket_limiter::acquire(const std::string& client) {
    if (!enabled()) return 0;
    const auto now = clock_();
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(client);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_clients_) evict(now);
        it = buckets_.emplace(client, bucket{burst_, now}).first;
    } else {
        it->second.tokens = tokens_at(it->second, now);
        it->second.last = now;
    }
    bucket& b = it->second;
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return 0;
    }
    return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate_)));
}

std::size_t token_bucket_limiter::clients() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace sluice::http
