#include <gtest/gtest.h>

#include "sluice/http/api_keys.hpp"
#include "sluice/http/token_bucket.hpp"

namespace {

using namespace sluice::http;
using clock_point = std::chrono::steady_clock::time_point;

TEST(token_bucket, refuses_when_empty_and_refills_with_time) {
    clock_point now{};
    token_bucket_limiter limiter(60, 2, [&] { return now; });  // 1 token/s, burst 2
    EXPECT_EQ(limiter.acquire("a"), 0);
    EXPECT_EQ(limiter.acquire("a"), 0);
    EXPECT_EQ(limiter.acquire("a"), 1);   // empty: retry after 1 s
    EXPECT_EQ(limiter.acquire("b"), 0);   // buckets are per client
    now += std::chrono::milliseconds(999);
    EXPECT_EQ(limiter.acquire("a"), 1);
    now += std::chrono::milliseconds(2);
    EXPECT_EQ(limiter.acquire("a"), 0);
    now += std::chrono::seconds(100);     // refills only up to the burst
    EXPECT_EQ(limiter.acquire("a"), 0);
    EXPECT_EQ(limiter.acquire("a"), 0);
    EXPECT_EQ(limiter.acquire("a"), 1);
}

TEST(token_bucket, slow_rates_report_longer_waits_and_zero_disables) {
    clock_point now{};
    token_bucket_limiter slow(6, 1, [&] { return now; });  // one token per 10 s
    EXPECT_EQ(slow.acquire("x"), 0);
    EXPECT_EQ(slow.acquire("x"), 10);
    token_bucket_limiter off(0, 0);
    EXPECT_FALSE(off.enabled());
    for (int i = 0; i < 100; ++i) EXPECT_EQ(off.acquire("x"), 0);
}

TEST(token_bucket, forgets_refilled_buckets_first_and_never_resets_a_drained_one) {
    clock_point now{};
    token_bucket_limiter limiter(60, 2, [&] { return now; }, 3);  // 1 token/s, burst 2, 3 clients
    EXPECT_EQ(limiter.acquire("drained"), 0);
    EXPECT_EQ(limiter.acquire("drained"), 0);
    EXPECT_EQ(limiter.acquire("b"), 0);
    EXPECT_EQ(limiter.acquire("c"), 0);
    now += std::chrono::milliseconds(1500);  // b and c are full again; drained holds 1.5
    EXPECT_EQ(limiter.acquire("drained"), 0);
    EXPECT_EQ(limiter.acquire("d"), 0);      // the bound: b and c go, nothing else changes
    EXPECT_EQ(limiter.clients(), 2u);
    EXPECT_EQ(limiter.acquire("drained"), 1);  // 0.5 left: its state survived the sweep
}

TEST(token_bucket, many_active_clients_stay_within_the_bound_and_keep_the_emptiest_buckets) {
    clock_point now{};
    token_bucket_limiter limiter(6, 1, [&] { return now; }, 100);  // one token per 10 s
    for (int i = 0; i < 10000; ++i) {
        now += std::chrono::microseconds(100);  // every bucket is still refilling
        EXPECT_EQ(limiter.acquire("addr-" + std::to_string(i)), 0);
        ASSERT_LE(limiter.clients(), 100u);
    }
    // Each client drained its bucket when it came, so the older ones hold more; a sweep
    // forgets those. The latest clients keep their empty buckets and keep waiting.
    now += std::chrono::seconds(5);
    EXPECT_EQ(limiter.acquire("addr-9999"), 5);
    EXPECT_EQ(limiter.acquire("addr-9990"), 5);
}

TEST(api_keys, accepts_only_configured_keys) {
    const api_keys keys({"alpha-key", "beta"});
    EXPECT_TRUE(keys.required());
    EXPECT_TRUE(keys.accepts("alpha-key"));
    EXPECT_TRUE(keys.accepts("beta"));
    EXPECT_FALSE(keys.accepts("alpha"));
    EXPECT_FALSE(keys.accepts("alpha-key "));
    EXPECT_FALSE(keys.accepts(""));
    EXPECT_FALSE(api_keys({}).required());
}

TEST(api_keys, extracts_bearer_or_x_api_key) {
    EXPECT_EQ(api_keys::extract("Bearer abc", ""), "abc");
    EXPECT_EQ(api_keys::extract("", "xyz"), "xyz");
    EXPECT_EQ(api_keys::extract("Basic abc", "xyz"), "xyz");
    EXPECT_EQ(api_keys::extract("Bearer ", ""), "");
}

}  // namespace
