// The HTTP server: Boost.Beast over Asio with C++20 coroutines. One listener coroutine;
// one coroutine per connection on its own strand (HTTP/1.1 keep-alive, deadlines for
// headers and body, the body limit enforced from Content-Length before the body is
// read). Generation runs on the engine's worker thread; a request submits a job and
// co_awaits a channel of tokens. SIGINT/SIGTERM stop accepting, let open requests
// finish (bounded by shutdown_timeout) and return. With TLS configured, SIGHUP reloads the
// certificate and key for new connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/chat/chat_template.hpp"
#include "sluice/engine/scheduler.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/store/response_store.hpp"
#include "sluice/tools/tool_grammar.hpp"

namespace sluice::http {

struct server_config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    std::vector<std::string> api_keys;
    double rate_per_minute = 0;  // 0: no rate limit
    double rate_burst = 0;       // 0: per_minute / 6
    std::size_t max_body = 16u << 20;
    // Open connections at most, in all and per client address (0: no per-address cap).
    // When a cap is reached the connection idle longest (keep-alive, between requests) is
    // closed to make room; with none idle, new connections are closed as they are
    // accepted (clients retry).
    std::size_t max_connections = 1024;
    std::size_t max_connections_per_ip = 64;
    std::vector<std::string> cors_origins;  // empty: CORS off; "*" allows any origin
    std::chrono::seconds shutdown_timeout{10};
    // The whole request head (request line and headers) must arrive within this, from its
    // first byte (or, on a new connection, from the accept and TLS handshake): a client
    // sending a byte a second cannot hold a connection longer. Between keep-alive requests
    // a connection waits up to idle_timeout for that first byte.
    std::chrono::seconds header_timeout{30};
    std::chrono::seconds body_timeout{60};
    std::chrono::seconds idle_timeout{120};
    std::chrono::seconds write_timeout{30};  // each write of a response, SSE frames included
    bool log_json = false;  // one JSON object per line (per request: see request_log.hpp)
    // PEM certificate chain and private key: HTTPS (TLS 1.2+) instead of HTTP when both are
    // set. SIGHUP reloads them; a pair that fails to load keeps the previous one.
    std::string tls_cert, tls_key;
    bool strict_fields = false;  // unknown request fields: 400 instead of ignored and named
    int n_predict = 0;           // > 0: no request generates more tokens than this (llama-server's --n-predict)
    // Stored Responses API objects (store: true, previous_response_id); null: none kept.
    std::shared_ptr<store::response_store> responses;
};

struct served_model {
    std::string id;  // the name clients see (--alias, default: the file name)
    const engine::tokenizer* tokenizer = nullptr;
    const chat::chat_template* chat = nullptr;
    tools::output_format format;  // how the model writes tool calls and reasoning (from its template)
    engine::scheduler* generator = nullptr;
    // --logit-bias: added to every request's sampling; a request's own logit_bias entry for
    // the same token replaces the server's.
    std::unordered_map<engine::token_id, float> logit_bias;
    std::int64_t created = 0;  // unix time the model was loaded
};

class server {
public:
    // Loads the TLS certificate and key when configured: throws sluice::error naming the
    // file and the reason when they cannot be read or do not match.
    explicit server(server_config config);
    ~server();

    // Binds the address (throws sluice::error when it cannot) and returns the port.
    std::uint16_t listen();
    // Serves until SIGINT/SIGTERM or stop(), then drains; returns when open requests
    // finished or the timeout passed. Until set_model() every endpoint answers 503
    // (the model is loading); /health too.
    void run();
    // Called once, from any thread, when the model is loaded.
    void set_model(served_model model);
    // Stops serving (e.g. when loading failed); safe from any thread.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice::http
