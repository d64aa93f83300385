#include "request_log.hpp"

#include <boost/json.hpp>
#include <cmath>

#include "connection.hpp"

namespace sluice::http::detail {

std::string request_id_from(std::string_view header) {
    bool ok = !header.empty() && header.size() <= k_max_request_id;
    for (const char c : header) ok = ok && c >= 0x21 && c <= 0x7e;
    return ok ? std::string(header) : random_id("req_");
}

namespace {
double rounded(double ms) { return std::round(ms * 10) / 10; }  // 0.1 ms
}  // namespace

std::string format_request_log(const request_record& r, bool json, std::string_view time, std::string_view method,
                               std::string_view path, std::string_view route, unsigned status, double duration_ms) {
    if (json) {
        boost::json::object o{{"time", time},     {"level", "info"},    {"event", "request"},
                              {"request_id", r.id}, {"method", method}, {"path", path},
                              {"route", route},   {"status", status},   {"duration_ms", rounded(duration_ms)}};
        if (!r.key_id.empty()) o["key_id"] = r.key_id;
        if (r.has_usage) {
            o["prompt_tokens"] = r.prompt_tokens;
            o["cached_tokens"] = r.cached_tokens;
            o["completion_tokens"] = r.completion_tokens;
        }
        if (r.ttft_ms >= 0) o["ttft_ms"] = rounded(r.ttft_ms);
        if (!r.cancel_reason.empty()) o["cancel_reason"] = r.cancel_reason;
        return boost::json::serialize(o);
    }
    std::string line = std::string(method) + " " + std::string(path) + " " + std::to_string(status) + " " +
                       std::to_string(static_cast<long long>(duration_ms)) + " ms id=" + r.id;
    if (!r.key_id.empty()) line += " key=" + r.key_id;
    if (r.has_usage) {
        line += " prompt=" + std::to_string(r.prompt_tokens) + " cached=" + std::to_string(r.cached_tokens) +
                " completion=" + std::to_string(r.completion_tokens);
    }
    if (r.ttft_ms >= 0) line += " ttft=" + std::to_string(static_cast<long long>(r.ttft_ms)) + " ms";
    if (!r.cancel_reason.empty()) line += " cancelled=" + r.cancel_reason;
    return line;
}

}  // namespace sluice::http::detail
