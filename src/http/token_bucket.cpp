#include "sluice/http/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::http {

token_bucket_limiter::token_bucket_limiter(double per_minute, double burst, clock_fn clock)
    : rate_(per_minute > 0 ? per_minute / 60.0 : 0.0),
      burst_(burst > 0 ? burst : std::max(1.0, per_minute / 6.0)),
      clock_(std::move(clock)) {}

int token_bucket_limiter::acquire(const std::string& client) {
    if (!enabled()) return 0;
    const auto now = clock_();
    std::lock_guard lock(mutex_);
    if (buckets_.size() > 100000) buckets_.clear();  // bound memory against address churn
    auto [it, fresh] = buckets_.try_emplace(client, bucket{burst_, now});
    bucket& b = it->second;
    if (!fresh) {
        const double elapsed = std::chrono::duration<double>(now - b.last).count();
        b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
        b.last = now;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return 0;
    }
    return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate_)));
}

}  // namespace sluice::http
