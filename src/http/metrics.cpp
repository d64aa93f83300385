#include "sluice/http/metrics.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace sluice::http {
namespace {

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

void header(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, const std::string& value) {
    out.append(name);
    if (!labels.empty()) out.append("{").append(labels).append("}");
    out.append(" ").append(value).append("\n");
}

}  // namespace

histogram::histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {
    std::sort(bounds_.begin(), bounds_.end());
}

void histogram::observe(double seconds) {
    const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
    std::lock_guard lock(mutex_);
    ++counts_[i];
    sum_ += seconds;
}

void histogram::render(std::string& out, std::string_view name, std::string_view help) const {
    std::vector<std::uint64_t> counts;
    double sum = 0;
    {
        std::lock_guard lock(mutex_);
        counts = counts_;
        sum = sum_;
    }
    header(out, name, help, "histogram");
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
        sample(out, bucket, "le=\"" + le + "\"", std::to_string(cumulative));
    }
    sample(out, std::string(name) + "_sum", "", number(sum));
    sample(out, std::string(name) + "_count", "", std::to_string(cumulative));
}

namespace {

// Exact paths (and aliases) the router serves, with the route each names.
constexpr std::array<std::pair<std::string_view, std::string_view>, 20> k_routes{{
    {"/tokenize", "/tokenize"},
    {"/detokenize", "/detokenize"},
    {"/apply-template", "/apply-template"},
    {"/v1/responses", "/v1/responses"},
    {"/responses", "/v1/responses"},
    {"/v1/messages", "/v1/messages"},
    {"/v1/messages/count_tokens", "/v1/messages/count_tokens"},
    {"/v1/chat/completions", "/v1/chat/completions"},
    {"/chat/completions", "/v1/chat/completions"},
    {"/v1/completions", "/v1/completions"},
    {"/completions", "/v1/completions"},
    {"/v1/models", "/v1/models"},
    {"/models", "/v1/models"},
    {"/livez", "/livez"},
    {"/health", "/health"},
    {"/v1/health", "/health"},
    {"/metrics", "/metrics"},
    {"/v1/metrics", "/metrics"},
    {"/openapi.json", "/openapi.json"},
    {"/docs", "/docs"},
}};

// The routes with an id: every path under the prefix.
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> k_id_routes{{
    {"/v1/models/", "/v1/models/{id}"},
    {"/v1/responses/", "/v1/responses/{id}"},
}};

}  // namespace

std::string_view endpoint_label(std::string_view target) noexcept {
    target = path_of(target);
    for (const auto& [path, label] : k_routes) {
        if (target == path) return label;
    }
    for (const auto& [prefix, label] : k_id_routes) {
        if (target.size() > prefix.size() && target.starts_with(prefix)) return label;
    }
    return "other";
}

std::vector<std::string_view> endpoint_labels() {
    std::vector<std::string_view> out;
    for (const auto& r : k_routes) {
        if (std::find(out.begin(), out.end(), r.second) == out.end()) out.push_back(r.second);
    }
    for (const auto& r : k_id_routes) out.push_back(r.second);
    return out;
}

server_metrics::server_metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      itl_({0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void server_metrics::count_request(std::string_view target, unsigned status) {
    std::lock_guard lock(mutex_);
    ++requests_[{std::string(endpoint_label(target)), status}];
}

void server_metrics::add_prompt_tokens(std::size_t n) {
    std::lock_guard lock(mutex_);
    prompt_tokens_ += n;
}

void server_metrics::add_generated_tokens(std::size_t n) {
    std::lock_guard lock(mutex_);
    generated_tokens_ += n;
}

std::string server_metrics::render(const engine_gauges& g) const {
    std::string out;
    {
        std::lock_guard lock(mutex_);
        header(out, "sluice_requests_total", "HTTP requests answered, by endpoint and status.", "counter");
        for (const auto& [key, n] : requests_) {
            sample(out, "sluice_requests_total", "endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"", std::to_string(n));
        }
        header(out, "sluice_prompt_tokens_total", "Prompt tokens submitted for generation.", "counter");
        sample(out, "sluice_prompt_tokens_total", "", std::to_string(prompt_tokens_));
        header(out, "sluice_generated_tokens_total", "Tokens generated.", "counter");
        sample(out, "sluice_generated_tokens_total", "", std::to_string(generated_tokens_));
    }
    header(out, "sluice_sequences_running", "Sequences being generated now.", "gauge");
    sample(out, "sluice_sequences_running", "", std::to_string(g.running));
    header(out, "sluice_sequences_queued", "Requests waiting for the engine.", "gauge");
    sample(out, "sluice_sequences_queued", "", std::to_string(g.queued));
    header(out, "sluice_kv_blocks_used", "KV cache blocks held by running sequences.", "gauge");
    sample(out, "sluice_kv_blocks_used", "", std::to_string(g.kv_used));
    header(out, "sluice_kv_blocks_cached", "KV cache blocks kept for the prefix cache (reclaimable).", "gauge");
    sample(out, "sluice_kv_blocks_cached", "", std::to_string(g.kv_cached));
    header(out, "sluice_kv_blocks_free", "KV cache blocks neither used nor cached.", "gauge");
    sample(out, "sluice_kv_blocks_free", "", std::to_string(g.kv_blocks - g.kv_used - g.kv_cached));
    header(out, "sluice_prefix_cache_hit_tokens_total", "Prompt tokens whose KV came from the prefix cache.", "counter");
    sample(out, "sluice_prefix_cache_hit_tokens_total", "", std::to_string(g.cached_prompt_tokens));
    header(out, "sluice_draft_tokens_total", "Speculative draft tokens verified (--spec-type, --model-draft).", "counter");
    sample(out, "sluice_draft_tokens_total", "", std::to_string(g.draft_tokens));
    header(out, "sluice_draft_tokens_accepted_total", "Speculative draft tokens accepted: each saved a forward pass.", "counter");
    sample(out, "sluice_draft_tokens_accepted_total", "", std::to_string(g.draft_tokens_accepted));
    ttft_.render(out, "sluice_time_to_first_token_seconds", "From a completion request's arrival to its first generated token.");
    itl_.render(out, "sluice_inter_token_latency_seconds", "Between consecutive generated tokens of one request.");
    return out;
}

}  // namespace sluice::http
