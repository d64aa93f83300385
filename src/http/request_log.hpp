// Request ids and the one log line per finished request.
//
// A request's id is the client's X-Request-Id when that is 1-128 visible ASCII characters
// (0x21-0x7E: no spaces, no control characters, nothing to break a log line or a header),
// else a new one ("req_" + 24 random alphanumerics). It is echoed in the X-Request-Id
// header of every response and in every error body, and logged with the request.
//
// The log line: text ("POST /v1/chat/completions 200 812 ms id=req_... key=key_...
// prompt=12 cached=0 completion=40 ttft=95 ms") or, with --log-format json, one object:
//   {"time","level":"info","event":"request","request_id","method","path","route",
//    "status","duration_ms", and when they apply "key_id", "prompt_tokens",
//    "cached_tokens", "completion_tokens", "ttft_ms", "cancel_reason"}
// `key_id` is an opaque id of the API key (api_keys::id_of), never the key itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::http::detail {

// Why a request ended before its answer was complete.
namespace cancel_reason {
inline constexpr std::string_view client_gone = "client_gone";      // closed or reset while generating or writing
inline constexpr std::string_view write_timeout = "write_timeout";  // stopped reading; a write hit --write-timeout
inline constexpr std::string_view backlog = "backlog";              // read its stream too slowly (tokens piled up)
inline constexpr std::string_view shutdown_timeout = "shutdown_timeout";  // still running when the drain's time ran out
}  // namespace cancel_reason

// What is known about a request when it finishes, filled in as it goes (on its strand).
struct request_record {
    std::string id;
    std::chrono::steady_clock::time_point started;
    std::string key_id;                // "" without a key
    bool has_usage = false;            // a generation ran: the token counts below are set
    std::size_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
    double ttft_ms = -1;               // < 0: no token was generated
    std::string cancel_reason;         // "" or one of cancel_reason::*
};

inline constexpr std::size_t k_max_request_id = 128;

// The client's id when acceptable (see above), else a generated one.
std::string request_id_from(std::string_view header);

// The line to log for a finished request (without a trailing newline). `time` is the
// RFC 3339 UTC time (json only).
std::string format_request_log(const request_record& r, bool json, std::string_view time, std::string_view method,
                               std::string_view path, std::string_view route, unsigned status, double duration_ms);

}  // namespace sluice::http::detail
