#include "sluice/http/metrics.hpp"

#include <gtest/gtest.h>

namespace {

using namespace sluice::http;

bool has_line(const std::string& text, const std::string& line) { return ("\n" + text).find("\n" + line + "\n") != std::string::npos; }

TEST(metrics, histogram_buckets_are_cumulative_and_end_with_inf) {
    histogram h({0.1, 0.5, 1});
    for (const double s : {0.05, 0.1, 0.3, 0.7, 2.0}) h.observe(s);
    std::string out;
    h.render(out, "x_seconds", "help text");
    EXPECT_TRUE(has_line(out, "# TYPE x_seconds histogram")) << out;
    EXPECT_TRUE(has_line(out, "x_seconds_bucket{le=\"0.1\"} 2")) << out;  // le is inclusive
    EXPECT_TRUE(has_line(out, "x_seconds_bucket{le=\"0.5\"} 3")) << out;
    EXPECT_TRUE(has_line(out, "x_seconds_bucket{le=\"1\"} 4")) << out;
    EXPECT_TRUE(has_line(out, "x_seconds_bucket{le=\"+Inf\"} 5")) << out;
    EXPECT_TRUE(has_line(out, "x_seconds_sum 3.15")) << out;
    EXPECT_TRUE(has_line(out, "x_seconds_count 5")) << out;
}

TEST(metrics, requests_are_counted_by_route_and_status_with_a_bounded_label_set) {
    server_metrics m;
    m.count_request("/v1/chat/completions", 200);
    m.count_request("/chat/completions?x=1", 200);
    m.count_request("/v1/completions", 400);
    m.count_request("/v1/models/some-model", 404);
    m.count_request("/anything/a/client/invents", 404);
    m.count_request("/also/invented", 404);
    const auto out = m.render({1, 3});
    EXPECT_TRUE(has_line(out, "sluice_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 2")) << out;
    EXPECT_TRUE(has_line(out, "sluice_requests_total{endpoint=\"/v1/completions\",status=\"400\"} 1")) << out;
    EXPECT_TRUE(has_line(out, "sluice_requests_total{endpoint=\"/v1/models/{id}\",status=\"404\"} 1")) << out;
    EXPECT_TRUE(has_line(out, "sluice_requests_total{endpoint=\"other\",status=\"404\"} 2")) << out;
    EXPECT_TRUE(has_line(out, "sluice_sequences_running 1")) << out;
    EXPECT_TRUE(has_line(out, "sluice_sequences_queued 3")) << out;
}

TEST(metrics, kv_blocks_and_prefix_cache) {
    server_metrics m;
    const auto out = m.render({.running = 1, .queued = 0, .kv_blocks = 100, .kv_used = 7, .kv_cached = 20, .cached_prompt_tokens = 48});
    EXPECT_TRUE(has_line(out, "sluice_kv_blocks_used 7")) << out;
    EXPECT_TRUE(has_line(out, "sluice_kv_blocks_cached 20")) << out;
    EXPECT_TRUE(has_line(out, "sluice_kv_blocks_free 73")) << out;
    EXPECT_TRUE(has_line(out, "sluice_prefix_cache_hit_tokens_total 48")) << out;
}

TEST(metrics, speculative_draft_counters) {
    server_metrics m;
    const auto out = m.render({.draft_tokens = 90, .draft_tokens_accepted = 61});
    EXPECT_TRUE(has_line(out, "sluice_draft_tokens_total 90")) << out;
    EXPECT_TRUE(has_line(out, "sluice_draft_tokens_accepted_total 61")) << out;
}

TEST(metrics, token_counters_and_latencies) {
    server_metrics m;
    m.add_prompt_tokens(12);
    m.add_prompt_tokens(3);
    m.add_generated_tokens(1);
    m.add_generated_tokens(1);
    m.observe_ttft(0.2);
    m.observe_itl(0.004);
    const auto out = m.render({});
    EXPECT_TRUE(has_line(out, "sluice_prompt_tokens_total 15")) << out;
    EXPECT_TRUE(has_line(out, "sluice_generated_tokens_total 2")) << out;
    EXPECT_TRUE(has_line(out, "sluice_time_to_first_token_seconds_count 1")) << out;
    EXPECT_TRUE(has_line(out, "sluice_time_to_first_token_seconds_bucket{le=\"0.1\"} 0")) << out;
    EXPECT_TRUE(has_line(out, "sluice_time_to_first_token_seconds_bucket{le=\"0.25\"} 1")) << out;
    EXPECT_TRUE(has_line(out, "sluice_inter_token_latency_seconds_bucket{le=\"0.005\"} 1")) << out;
    // Every sample line belongs to a declared metric family.
    std::size_t helps = 0, types = 0;
    for (std::size_t pos = 0; (pos = out.find("# HELP ", pos)) != std::string::npos; ++pos) ++helps;
    for (std::size_t pos = 0; (pos = out.find("# TYPE ", pos)) != std::string::npos; ++pos) ++types;
    EXPECT_EQ(helps, 13u);
    EXPECT_EQ(types, 13u);
}

}  // namespace
