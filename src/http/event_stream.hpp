// What every protocol's encoder writes through: an SSE response (headers once, then one
// chunk per frame, then the last chunk), or one JSON body; and the API error an engine
// failure becomes. Shared by openai_encoder, anthropic_encoder and responses_encoder.
#pragma once

#include <optional>
#include <string>

#include "connection.hpp"

namespace sluice::http::detail {

class event_stream {
public:
    explicit event_stream(exchange& ex) : ex_(ex) {}
    // The 200 text/event-stream head (chunked, keep-alive as the request asks).
    net::awaitable<void> start();
    net::awaitable<void> write(const std::string& frame);
    net::awaitable<void> end();
    bool started() const noexcept { return head_.has_value(); }  // the head is (being) written

private:
    exchange& ex_;
    std::optional<bhttp::response<bhttp::empty_body>> head_;
    std::optional<bhttp::response_serializer<bhttp::empty_body>> serializer_;
};

// A whole 200 JSON answer (non-stream).
net::awaitable<void> write_json_reply(exchange& ex, std::string body);

// The engine's failure as an API error: a grammar that could not be followed is the
// request's fault (400 grammar_failed), anything else an internal error.
api::api_error engine_failure(const std::string& error);

}  // namespace sluice::http::detail
