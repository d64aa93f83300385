// Errors of the HTTP API: each maps to exactly one status and an OpenAI error body
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// (or Anthropic's envelope on the Messages routes).
// Messages say what was wrong and where (the field), never internals.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::api {

struct api_error : std::runtime_error {
    int status;
    std::string type;   // invalid_request_error, authentication_error, rate_limit_error, server_error, ...
    std::string param;  // the offending field ("" = null)
    std::string code;   // machine-readable code ("" = null)
    int retry_after = 0;  // seconds, for 429 and 503

    api_error(int status_, std::string type_, const std::string& message, std::string param_ = {}, std::string code_ = {})
        : std::runtime_error(message), status(status_), type(std::move(type_)), param(std::move(param_)), code(std::move(code_)) {}

    // The JSON error envelope (OpenAI's); a non-empty `request_id` goes inside `error`
    // as "request_id", so a client can quote it when it reports the failure.
    std::string body(std::string_view request_id = {}) const;
    // Anthropic's envelope {"type":"error","error":{"type","message"}}, its error type
    // chosen by status (invalid_request_error, authentication_error, not_found_error,
    // request_too_large, rate_limit_error, api_error, overloaded_error); a non-empty
    // `request_id` is a top-level "request_id", where Anthropic's own API puts it.
    std::string anthropic_body(std::string_view request_id = {}) const;
};

api_error invalid_request(const std::string& message, const std::string& param = {}, const std::string& code = {});
api_error unauthorized(const std::string& message);
api_error not_found(const std::string& message, const std::string& code = {});
api_error method_not_allowed(const std::string& message);
api_error payload_too_large(const std::string& message);
api_error unsupported_media_type(const std::string& message);
api_error rate_limited(int retry_after_seconds);
api_error unavailable(const std::string& message, int retry_after_seconds = 1);
// A stream cancelled because its client read too slowly (408 timeout_error, code
// stream_backlog); `waiting` is how many generated tokens were waiting when it gave up.
api_error stream_backlog(std::size_t waiting);
api_error internal_error();  // generic; details belong in the log only

}  // namespace sluice::api
