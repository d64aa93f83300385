#include "event_stream.hpp"

#include "sluice/engine/scheduler.hpp"

namespace sluice::http::detail {

using net::use_awaitable;

net::awaitable<void> event_stream::start() {
    head_.emplace(bhttp::status::ok, ex_.req.version());
    head_->set(bhttp::field::content_type, "text/event-stream");
    head_->set(bhttp::field::cache_control, "no-cache");
    head_->set(bhttp::field::server, "sluice");
    add_exchange_headers(ex_, *head_);
    head_->chunked(true);
    head_->keep_alive(ex_.req.keep_alive());
    serializer_.emplace(*head_);
    ex_.stream.expires_after(ex_.write_timeout);
    co_await bhttp::async_write_header(ex_.stream, *serializer_, use_awaitable);
}

// Each write gets the write deadline: a client that stops reading fills the socket's
// buffers, the write waits, and the deadline closes the stream (the write then throws).
net::awaitable<void> event_stream::write(const std::string& frame) {
    ex_.stream.expires_after(ex_.write_timeout);
    co_await net::async_write(ex_.stream, bhttp::make_chunk(net::buffer(frame)), use_awaitable);
}

net::awaitable<void> event_stream::end() {
    ex_.stream.expires_after(ex_.write_timeout);
    co_await net::async_write(ex_.stream, bhttp::make_chunk_last(), use_awaitable);
}

net::awaitable<void> write_json_reply(exchange& ex, std::string body) {
    auto res = json_response(ex, 200, std::move(body));
    res.keep_alive(ex.req.keep_alive());
    res.prepare_payload();
    ex.stream.expires_after(ex.write_timeout);
    co_await bhttp::async_write(ex.stream, res, use_awaitable);
}

api::api_error engine_failure(const std::string& error) {
    const std::string_view prefix = engine::k_grammar_error_prefix;
    if (!error.starts_with(prefix)) return api::internal_error();
    return api::invalid_request("The requested output format could not be followed: " + error.substr(prefix.size()), {}, "grammar_failed");
}

}  // namespace sluice::http::detail
