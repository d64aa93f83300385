#include "sluice/api/api_error.hpp"

#include <boost/json.hpp>

namespace sluice::api {

std::string api_error::body(std::string_view request_id) const {
    namespace json = boost::json;
    json::object e{{"message", what()}, {"type", type}};
    e["param"] = param.empty() ? json::value(nullptr) : json::value(param);
    e["code"] = code.empty() ? json::value(nullptr) : json::value(code);
    if (!request_id.empty()) e["request_id"] = request_id;
    return json::serialize(json::object{{"error", std::move(e)}});
}

std::string api_error::anthropic_body(std::string_view request_id) const {
    namespace json = boost::json;
    const char* kind = "api_error";
    switch (status) {
        case 400: case 405: case 415: case 431: kind = "invalid_request_error"; break;
        case 401: kind = "authentication_error"; break;
        case 403: kind = "permission_error"; break;
        case 404: kind = "not_found_error"; break;
        case 413: kind = "request_too_large"; break;
        case 429: kind = "rate_limit_error"; break;
        case 503: case 529: kind = "overloaded_error"; break;
        default: kind = status >= 500 ? "api_error" : "invalid_request_error"; break;
    }
    json::object body{{"type", "error"}, {"error", json::object{{"type", kind}, {"message", what()}}}};
    if (!request_id.empty()) body["request_id"] = request_id;
    return json::serialize(body);
}

api_error invalid_request(const std::string& message, const std::string& param, const std::string& code) {
    return {400, "invalid_request_error", message, param, code};
}
api_error unauthorized(const std::string& message) { return {401, "authentication_error", message, {}, "invalid_api_key"}; }
api_error not_found(const std::string& message, const std::string& code) { return {404, "invalid_request_error", message, {}, code}; }
api_error method_not_allowed(const std::string& message) { return {405, "invalid_request_error", message, {}, "method_not_allowed"}; }
api_error payload_too_large(const std::string& message) { return {413, "invalid_request_error", message, {}, "payload_too_large"}; }
api_error unsupported_media_type(const std::string& message) {
    return {415, "invalid_request_error", message, {}, "unsupported_media_type"};
}
api_error rate_limited(int retry_after_seconds) {
    api_error e{429, "rate_limit_error", "Rate limit reached; retry after " + std::to_string(retry_after_seconds) + " s.", {}, "rate_limit_exceeded"};
    e.retry_after = retry_after_seconds;
    return e;
}
api_error unavailable(const std::string& message, int retry_after_seconds) {
    api_error e{503, "server_error", message, {}, "service_unavailable"};
    e.retry_after = retry_after_seconds;
    return e;
}
api_error stream_backlog(std::size_t waiting) {
    return {408, "timeout_error",
            "The client read its stream too slowly (" + std::to_string(waiting) +
                " generated tokens waiting); the generation was cancelled.",
            {}, "stream_backlog"};
}
api_error internal_error() { return {500, "server_error", "The server had an error while processing the request.", {}, "internal_error"}; }

}  // namespace sluice::api
