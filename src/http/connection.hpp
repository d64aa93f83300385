// Internals of the HTTP layer shared by its translation units.
#pragma once

#include <chrono>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <string>

#include "client_stream.hpp"
#include "connection_table.hpp"
#include "request_log.hpp"
#include "sluice/api/api_error.hpp"
#include "sluice/api/constraint.hpp"
#include "sluice/http/api_keys.hpp"
#include "sluice/http/metrics.hpp"
#include "request_workers.hpp"
#include "sluice/http/server.hpp"
#include "sluice/http/token_bucket.hpp"

namespace sluice::http::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

// State shared by all connections (read-mostly; counters are atomic).
struct server_state {
    server_config config;
    served_model model;
    api_keys keys;
    token_bucket_limiter limiter;
    server_metrics metrics;
    api::grammar_cache grammars;  // compiled response formats and grammars, by spec
    std::atomic<bool> draining{false};
    std::atomic<int> in_flight{0};  // requests being handled
    connection_table connections;   // open connections: caps, idle ones, eviction

    std::atomic<bool> ready{false};  // model loaded (set once, after `model` is filled)
    // Set when a drain's --shutdown-timeout ran out: the generations still running are
    // cancelled (cut_off_generations) and end with a 503 / an error event, logged with
    // cancel_reason shutdown_timeout, instead of being dropped mid-write by the stop.
    std::atomic<bool> cutting_off{false};
    // Any thread: remembers a running job's cancel flag (weakly: a finished job's goes).
    void track_generation(const std::shared_ptr<std::atomic<bool>>& cancelled);
    void cut_off_generations();
    // Decoding, rendering and tokenizing run here, not on the network threads.
    request_workers workers{0, 64};

private:
    std::mutex generations_mutex_;
    std::vector<std::weak_ptr<std::atomic<bool>>> generations_;

public:

    explicit server_state(server_config c)
        : config(std::move(c)),
          keys(config.api_keys),
          limiter(config.rate_per_minute, config.rate_burst),
          connections(config.max_connections, config.max_connections_per_ip) {}
};

// Per-request context: the connection's stream, the parsed request, the CORS origin to echo,
// and what the request's log line will say (its id, key id, tokens, TTFT, cancel reason).
struct exchange {
    client_stream& stream;
    const request& req;
    std::string cors_origin;  // "" when CORS does not apply
    std::string client;       // rate-limit identity
    std::string ignored_fields;  // unknown request fields, comma-separated ("" when none)
    bool anthropic = false;      // an Anthropic route: errors in Anthropic's envelope
    // Every write of a response (SSE frames included) must complete within this; a client
    // that stops reading is dropped (the write fails, which cancels its job).
    std::chrono::seconds write_timeout{30};
    request_record record;
};

// Serves one accepted connection: admits it to state.connections (or closes it at once when
// a cap is reached and no idle connection can make room), runs the TLS handshake when
// `tls` is set (within the header deadline), then requests until either side closes.
net::awaitable<void> serve_connection(server_state& state, net::ip::tcp::socket socket, std::shared_ptr<net::ssl::context> tls);

// Completion endpoints (completion_handler.cpp). Throws api::api_error before anything
// is written; once a stream has started, errors end the stream.
net::awaitable<void> handle_completion(server_state& state, exchange& ex, bool chat);
// POST /v1/messages (anthropic_handler.cpp), likewise; /v1/messages/count_tokens and the
// other handlers below answer with a response for the connection to write.
net::awaitable<void> handle_messages(server_state& state, exchange& ex);
response handle_count_tokens(server_state& state, exchange& ex);
// POST /tokenize, /detokenize, /apply-template (utility_handlers.cpp): llama-server's shapes.
response handle_utility(server_state& state, exchange& ex, std::string_view endpoint);
// GET /openapi.json and /docs (docs_page.cpp): the API description and the page rendering it.
response handle_documentation(const exchange& ex, std::string_view endpoint);
// POST /v1/responses; GET/DELETE /v1/responses/{id}[/input_items] (responses_handler.cpp).
net::awaitable<void> handle_responses(server_state& state, exchange& ex);
response handle_stored_response(server_state& state, exchange& ex, std::string_view id_and_rest);

// Response helpers (connection.cpp).
// `prefix` + 24 random characters of [0-9a-zA-Z]: ids of completions, messages, calls, items.
std::string random_id(std::string_view prefix);
response json_response(const exchange& ex, unsigned status, std::string body);
response error_response(const exchange& ex, const api::api_error& e);
// X-Request-Id, CORS headers for an allowed origin and x-sluice-ignored-fields, on every response.
void add_exchange_headers(const exchange& ex, bhttp::fields& f);

}  // namespace sluice::http::detail
