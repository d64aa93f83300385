// Server metrics in the Prometheus text exposition format (GET /metrics): requests by
// endpoint and status, prompt and generated token counters, time-to-first-token and
// inter-token latency histograms, and the engine's figures the caller reads when rendering
// (running and queued sequences, KV blocks used/cached/free, prefix-cache hit tokens,
// speculative draft tokens verified and accepted). Thread-safe: connections on any thread record.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::http {

// A cumulative histogram with fixed upper bounds (seconds), as Prometheus expects.
class histogram {
public:
    explicit histogram(std::vector<double> upper_bounds);
    void observe(double seconds);
    // `name`_bucket{le=...} (cumulative, ending with +Inf), `name`_sum, `name`_count.
    void render(std::string& out, std::string_view name, std::string_view help) const;

private:
    std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::vector<std::uint64_t> counts_;  // per bucket (not cumulative), last is +Inf
    double sum_ = 0;
};

struct engine_gauges {
    std::size_t running = 0, queued = 0;
    std::size_t kv_blocks = 0, kv_used = 0, kv_cached = 0;  // KV blocks: all, held by sequences, kept as prefix cache
    std::uint64_t cached_prompt_tokens = 0;                  // prompt tokens served from the prefix cache (counter)
    std::uint64_t draft_tokens = 0, draft_tokens_accepted = 0;  // speculative decoding: drafted, accepted (counters)
};

class server_metrics {
public:
    server_metrics();

    // Counts a finished request. The endpoint label is the route (query dropped, one of
    // the known paths, else "other") so that clients cannot grow the label set.
    void count_request(std::string_view target, unsigned status);
    void add_prompt_tokens(std::size_t n);
    void add_generated_tokens(std::size_t n);
    void observe_ttft(double seconds) { ttft_.observe(seconds); }
    void observe_itl(double seconds) { itl_.observe(seconds); }

    std::string render(const engine_gauges& g) const;
    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
    std::uint64_t prompt_tokens_ = 0, generated_tokens_ = 0;
    histogram ttft_, itl_;
};

// The route a request target names (query dropped; the aliases without /v1 folded into
// their /v1 form; any /v1/models/ID is "/v1/models/{id}"), else "other". The router
// dispatches on it and the metrics label requests with it.
// The path of a request target, without its query string.
inline std::string_view path_of(std::string_view target) noexcept { return target.substr(0, target.find('?')); }

std::string_view endpoint_label(std::string_view target) noexcept;
// Every route endpoint_label can name (not "other"): what the router serves. Responses'
// /input_items is served under "/v1/responses/{id}".
std::vector<std::string_view> endpoint_labels();

}  // namespace sluice::http
