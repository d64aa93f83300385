// One connection: read requests (deadlines, body limit), route them through the
// middleware (CORS, auth, rate limit), write responses; keep-alive until the client or
// the server closes.
#include <boost/json.hpp>
#include <array>
#include <chrono>
#include <random>

#include "connection.hpp"
#include "sluice/util/log.hpp"

namespace sluice::http::detail {
namespace {

using net::use_awaitable;

std::string_view field(const request& req, std::string_view name) {
    const auto it = req.find(name);
    return it == req.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

bool origin_allowed(const server_config& c, std::string_view origin) {
    if (origin.empty()) return false;
    for (const auto& o : c.cors_origins) {
        if (o == "*" || o == origin) return true;
    }
    return false;
}

// OpenAI's model object plus the context length (several clients read `context_length`).
boost::json::object model_object(const served_model& m) {
    return {{"id", m.id}, {"object", "model"}, {"created", m.created}, {"owned_by", "sluice"},
            {"context_length", m.generator->max_sequence()}};
}

// HEAD is GET without the body (RFC 9110 9.3.2), on every route.
bool is_get(bhttp::verb method) { return method == bhttp::verb::get || method == bhttp::verb::head; }

// Routes that answer without a key: CORS preflights, the probes (/livez, /health) and the
// API's description.
bool is_public(const exchange& ex, std::string_view endpoint) {
    if (ex.req.method() == bhttp::verb::options && !ex.cors_origin.empty()) return true;
    return endpoint == "/livez" || endpoint == "/health" || endpoint == "/openapi.json" || endpoint == "/docs";
}

// The middleware that needs only the request's head, run before any of its body is read:
// the key (when keys are configured), then a rate-limit token. Throws api_error 401 / 429,
// so a client without a valid key cannot make the server read (or parse) a body at all.
void check_access(server_state& st, exchange& ex) {
    const std::string_view endpoint = endpoint_label(std::string(path_of(ex.req.target())));
    ex.anthropic = endpoint == "/v1/messages" || endpoint == "/v1/messages/count_tokens";
    if (is_public(ex, endpoint)) return;
    if (st.keys.required()) {
        const auto key = api_keys::extract(field(ex.req, bhttp::to_string(bhttp::field::authorization)), field(ex.req, "x-api-key"));
        if (!st.keys.accepts(key)) {
            throw api::unauthorized(key.empty() ? "Missing API key: send 'Authorization: Bearer <key>'." : "Incorrect API key provided.");
        }
        ex.client = "key:" + std::to_string(std::hash<std::string_view>{}(key));
        ex.record.key_id = api_keys::id_of(key);
    }
    if (const int wait = st.limiter.acquire(ex.client); wait > 0) throw api::rate_limited(wait);
}

// Routes one request; returns the response to write, or nullopt when the handler wrote it.
net::awaitable<std::optional<response>> route(server_state& st, exchange& ex) {
    const request& req = ex.req;
    const std::string target(path_of(req.target()));
    const std::string_view endpoint = endpoint_label(target);  // the route; aliases without /v1 folded in
    const auto method = req.method();

    if (method == bhttp::verb::options && !ex.cors_origin.empty()) {  // CORS preflight
        response res{bhttp::status::no_content, req.version()};
        add_exchange_headers(ex, res);
        res.set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
        res.set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Api-Key, Anthropic-Version, Anthropic-Beta");
        res.set("Access-Control-Max-Age", "600");
        co_return res;
    }
    // Liveness: the process runs and its network threads answer, whatever the model and the
    // drain are doing (an orchestrator restarts a process that fails this, so it must not
    // fail while loading or draining). Readiness is /health.
    if (endpoint == "/livez") {
        if (!is_get(method)) throw api::method_not_allowed("Use GET for " + target);
        co_return json_response(ex, 200, R"({"status":"ok"})");
    }
    if (endpoint == "/health") {
        if (!is_get(method)) throw api::method_not_allowed("Use GET for " + target);
        if (st.draining) throw api::unavailable("The server is shutting down.");
        if (!st.ready.load(std::memory_order_acquire)) throw api::unavailable("The model is loading.", 5);
        co_return json_response(ex, 200, R"({"status":"ok"})");
    }
    // The API's description reveals nothing a key protects (it is the same for every
    // server: no model, key or setting), so, like /health, it needs none (docs/security.md).
    if (endpoint == "/openapi.json" || endpoint == "/docs") {
        if (!is_get(method)) throw api::method_not_allowed("Use GET for " + target);
        co_return handle_documentation(ex, endpoint);
    }

    // Everything else passed check_access (key, rate limit) before its body was read.
    // Metrics answer while loading and draining too: that is when an operator looks.
    if (endpoint == "/metrics") {
        if (!is_get(method)) throw api::method_not_allowed("Use GET for " + target);
        engine::scheduler::load load;
        if (st.ready.load(std::memory_order_acquire)) load = st.model.generator->current_load();
        response res{bhttp::status::ok, req.version()};
        res.set(bhttp::field::content_type, server_metrics::content_type);
        res.set(bhttp::field::server, "sluice");
        add_exchange_headers(ex, res);
        res.body() = st.metrics.render({load.running, load.queued, load.kv_blocks, load.kv_used, load.kv_cached, load.cached_prompt_tokens,
                                        load.speculation.drafted, load.speculation.accepted});
        co_return res;
    }
    if (st.draining) throw api::unavailable("The server is shutting down.");
    if (!st.ready.load(std::memory_order_acquire)) throw api::unavailable("The model is loading.", 5);

    const bool chat = endpoint == "/v1/chat/completions";
    const bool completion = endpoint == "/v1/completions";
    if (endpoint == "/v1/responses/{id}") {  // the store's reads and writes: on a request worker
        const std::string_view id = std::string_view(target).substr(target.find("/responses/") + 11);
        co_return co_await st.workers.run([&st, &ex, id] { return handle_stored_response(st, ex, id); });
    }
    const bool utility = endpoint == "/tokenize" || endpoint == "/detokenize" || endpoint == "/apply-template";
    if (chat || completion || ex.anthropic || utility || endpoint == "/v1/responses") {
        if (method != bhttp::verb::post) throw api::method_not_allowed("Use POST for " + target);
        const auto type = field(req, "content-type");
        if (type.substr(0, std::min<std::size_t>(type.size(), 16)) != "application/json") {
            throw api::unsupported_media_type("Content-Type must be application/json, got '" + std::string(type) + "'");
        }
        // Decoding, rendering and tokenizing: on a request worker.
        if (utility) co_return co_await st.workers.run([&st, &ex, endpoint] { return handle_utility(st, ex, endpoint); });
        if (endpoint == "/v1/messages/count_tokens") co_return co_await st.workers.run([&st, &ex] { return handle_count_tokens(st, ex); });
        ++st.in_flight;
        struct done_guard {
            std::atomic<int>& n;
            ~done_guard() { --n; }
        } guard{st.in_flight};
        if (endpoint == "/v1/responses") {
            co_await handle_responses(st, ex);
        } else if (endpoint == "/v1/messages") {
            co_await handle_messages(st, ex);
        } else {
            co_await handle_completion(st, ex, chat);
        }
        co_return std::nullopt;
    }
    if (endpoint == "/v1/models") {
        if (!is_get(method)) throw api::method_not_allowed("Use GET for " + target);
        co_return json_response(ex, 200, boost::json::serialize(boost::json::object{
                                             {"object", "list"}, {"data", boost::json::array{model_object(st.model)}}}));
    }
    if (endpoint == "/v1/models/{id}") {
        if (!is_get(method)) throw api::method_not_allowed("Use GET for " + target);
        const std::string id = target.substr(11);
        if (id != st.model.id) throw api::not_found("The model '" + id + "' does not exist", "model_not_found");
        co_return json_response(ex, 200, boost::json::serialize(model_object(st.model)));
    }
    throw api::not_found("Invalid URL (" + std::string(req.method_string()) + " " + target + ")", "unknown_url");
}

// Logs a finished request (its one line, request_log.hpp) and counts it in the metrics.
void finish_request(server_state& st, const exchange& ex, unsigned status) {
    st.metrics.count_request(ex.req.target(), status);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ex.record.started).count();
    const std::string_view path = path_of(ex.req.target());
    const std::string line = format_request_log(ex.record, st.config.log_json, st.config.log_json ? log::utc_timestamp() : std::string(),
                                                ex.req.method_string(), path, endpoint_label(path), status, ms);
    if (st.config.log_json) {
        log::write_line(log::level::info, line);
    } else {
        log::info(line);
    }
}

constexpr std::size_t k_header_limit = 64 * 1024;

// After an answer sent before the request body was read (413): stop sending, then read and
// discard what the client still sends, for a bounded time and amount, until it closes.
// Closing a socket with unread bytes makes the kernel send a reset, which can destroy the
// answer in the client's receive buffer before it reads it ("connection reset" instead of
// the 413 in curl and the SDKs).
// With TLS the bytes are discarded as they come off the socket, undecrypted.
net::awaitable<void> lingering_close(client_stream& stream, std::chrono::steady_clock::duration limit = std::chrono::seconds(5),
                                     std::size_t max_bytes = 64u << 20) {
    boost::system::error_code ec;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    stream.expires_after(limit);
    std::array<char, 16 * 1024> sink;
    for (std::size_t total = 0; total < max_bytes;) {
        auto [rec, n] = co_await stream.tcp().async_read_some(net::buffer(sink), net::as_tuple(use_awaitable));
        if (rec) break;
        total += n;
    }
}

// An error answered before any request could be read (a malformed head, a connection over
// a cap): a new request id, OpenAI's envelope (the route is unknown), Retry-After when the
// error has one, `Connection: close`, then a lingering close bounded by `linger` and
// `linger_bytes`. Logged as `why` (nothing when empty: the caller logs, rate-limited).
net::awaitable<void> answer_unread(server_state& st, client_stream& stream, const api::api_error& e, std::string_view why,
                                   std::chrono::steady_clock::duration linger, std::size_t linger_bytes) {
    const std::string id = request_id_from("");
    response res{static_cast<bhttp::status>(e.status), 11};
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::server, "sluice");
    res.set("X-Request-Id", id);
    if (e.retry_after > 0) res.set(bhttp::field::retry_after, std::to_string(e.retry_after));
    res.keep_alive(false);
    res.body() = e.body(id);
    res.prepare_payload();
    st.metrics.count_request("", static_cast<unsigned>(e.status));
    if (!why.empty()) log::info(std::string(why) + " (id " + id + ") -> " + std::to_string(e.status));
    stream.expires_after(st.config.body_timeout);
    auto [wec, n] = co_await bhttp::async_write(stream, res, net::as_tuple(use_awaitable));
    (void)n;
    if (!wec) co_await lingering_close(stream, linger, linger_bytes);
}

// A request line or header Beast cannot parse: 400 (431 for an oversized header), then close.
// Its request id is always a new one: the header it came with could not be read.
net::awaitable<void> answer_bad_request(server_state& st, client_stream& stream, boost::system::error_code ec) {
    const bool header_too_large = ec == bhttp::error::header_limit;
    const api::api_error e = header_too_large ? api::api_error(431, "invalid_request_error", "The request header is larger than " +
                                                                   std::to_string(k_header_limit) + " bytes.", {}, "header_too_large")
                                              : api::invalid_request("Malformed HTTP request: " + ec.message() + ".");
    co_await answer_unread(st, stream, e, "malformed request: " + ec.message(), std::chrono::seconds(5), 64u << 20);
}

}  // namespace

void server_state::track_generation(const std::shared_ptr<std::atomic<bool>>& cancelled) {
    std::lock_guard lock(generations_mutex_);
    std::erase_if(generations_, [](const auto& w) { return w.expired(); });
    generations_.push_back(cancelled);
}

void server_state::cut_off_generations() {
    cutting_off.store(true);
    std::lock_guard lock(generations_mutex_);
    for (const auto& w : generations_) {
        if (const auto flag = w.lock()) flag->store(true);
    }
}

void add_exchange_headers(const exchange& ex, bhttp::fields& f) {
    f.set("X-Request-Id", ex.record.id);
    if (!ex.ignored_fields.empty()) f.set("x-sluice-ignored-fields", ex.ignored_fields);
    if (ex.cors_origin.empty()) return;
    f.set(bhttp::field::access_control_allow_origin, ex.cors_origin);
    f.set(bhttp::field::vary, "Origin");
    // A page's script may read only the response headers listed here (besides the basic ones).
    f.set(bhttp::field::access_control_expose_headers, "X-Request-Id, x-sluice-ignored-fields");
}

response json_response(const exchange& ex, unsigned status, std::string body) {
    response res{static_cast<bhttp::status>(status), ex.req.version()};
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::server, "sluice");
    add_exchange_headers(ex, res);
    res.keep_alive(ex.req.keep_alive());
    res.body() = std::move(body);
    return res;
}

std::string random_id(std::string_view prefix) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::string id(prefix);
    for (int i = 0; i < 24; ++i) id += alnum[rng() % 62];
    return id;
}

response error_response(const exchange& ex, const api::api_error& e) {
    response res = json_response(ex, static_cast<unsigned>(e.status), ex.anthropic ? e.anthropic_body(ex.record.id) : e.body(ex.record.id));
    if (e.retry_after > 0) res.set(bhttp::field::retry_after, std::to_string(e.retry_after));
    if (e.status == 401) res.set(bhttp::field::www_authenticate, "Bearer");
    if (e.status == 405) res.set(bhttp::field::allow, "GET, POST, OPTIONS");
    return res;
}

namespace {

// What an eviction (connection_table: an idle connection closed to make room) needs to
// reach the connection: touched on the connection's strand only.
struct eviction_handle {
    client_stream* stream = nullptr;  // null once the connection ended
    bool idle = false;                // waiting for the first byte of a next request
    bool evicted = false;
};

// The first bytes of a next request on a keep-alive connection, waited for up to the idle
// timeout; false when the client closed, the wait timed out or the connection was evicted.
net::awaitable<bool> await_next_request(server_state& st, client_stream& stream, beast::flat_buffer& buffer, eviction_handle& handle,
                                        connection_table::id conn) {
    if (handle.evicted) co_return false;
    handle.idle = true;
    st.connections.set_idle(conn, true);
    stream.expires_after(st.config.idle_timeout);
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), net::as_tuple(use_awaitable));
    handle.idle = false;
    st.connections.set_idle(conn, false);
    if (ec || handle.evicted) co_return false;
    buffer.commit(n);
    co_return true;
}

}  // namespace

net::awaitable<void> serve_connection(server_state& st, net::ip::tcp::socket socket, std::shared_ptr<net::ssl::context> tls) {
    std::string peer;
    boost::system::error_code pe;
    const auto ep = socket.remote_endpoint(pe);
    if (!pe) peer = ep.address().to_string();
    const auto handle = std::make_shared<eviction_handle>();
    const auto strand = co_await net::this_coro::executor;
    connection_table::refusal why = connection_table::refusal::none;
    const auto conn = st.connections.admit(peer, [handle, strand] {
        net::post(strand, [handle] {
            handle->evicted = true;
            if (handle->stream != nullptr && handle->idle) handle->stream->tcp().cancel();
        });
    }, &why);
    if (!conn) {  // full, and no idle connection to close: refused before anything is read
        static std::atomic<std::uint64_t> turned_away{0};
        const bool per_address = why == connection_table::refusal::address_full;
        if (turned_away++ % 1000 == 0) {
            log::warn(per_address ? "--max-connections-per-ip " + std::to_string(st.config.max_connections_per_ip) + " reached for " + peer +
                                        ": refusing its new connections"
                                  : "--max-connections " + std::to_string(st.config.max_connections) + " reached: refusing new connections (" +
                                        std::to_string(turned_away.load()) + " so far)");
        }
        // Over plain HTTP the client learns why and when to retry: a 503 with Retry-After, as
        // it would get at capacity, instead of a bare reset that SDKs retry at once. At most
        // k_refusals_answered such answers are in progress (each lingers at most a second);
        // past that, or over TLS (no handshake has happened), the socket is just closed.
        static std::atomic<int> answering{0};
        constexpr int k_refusals_answered = 64;
        if (!tls) {
            struct slot {
                ~slot() { answering.fetch_sub(1); }
            } taken;
            if (answering.fetch_add(1) < k_refusals_answered) {
                client_stream refused(std::move(socket));
                const std::string cap = per_address ? "--max-connections-per-ip " + std::to_string(st.config.max_connections_per_ip) + " for this address"
                                                    : "--max-connections " + std::to_string(st.config.max_connections);
                co_await answer_unread(st, refused, api::unavailable("Too many open connections (" + cap + "); retry after a second, or reuse a kept-alive connection."),
                                       {}, std::chrono::seconds(1), 64u << 10);
                co_return;
            }
        }
        boost::system::error_code ignored;
        socket.close(ignored);
        co_return;
    }
    client_stream stream = tls ? client_stream(std::move(socket), std::move(tls)) : client_stream(std::move(socket));
    handle->stream = &stream;
    struct conn_guard {  // on the strand, before the stream goes
        server_state& st;
        connection_table::id id;
        eviction_handle& handle;
        ~conn_guard() {
            handle.stream = nullptr;
            st.connections.remove(id);
        }
    } guard{st, *conn, *handle};

    // The first request's head, handshake included, within the header deadline.
    stream.expires_after(st.config.header_timeout);
    const auto hec = co_await stream.handshake();
    if (hec) {
        log::debug("TLS handshake with " + peer + " failed: " + hec.message());
        co_return;
    }
    beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
        // Between requests: idle (evictable) until the next one's first byte; its whole head
        // then gets the header deadline, however slowly it trickles in.
        if (!first && buffer.size() == 0) {
            const bool more = co_await await_next_request(st, stream, buffer, *handle, *conn);
            if (!more) break;
        }
        if (!first) stream.expires_after(st.config.header_timeout);
        bhttp::request_parser<bhttp::string_body> parser;
        // No body limit while the header is read: Beast would fail a large Content-Length
        // there, before we could answer 413. The limit is applied below.
        parser.body_limit(boost::none);
        parser.header_limit(k_header_limit);
        auto [ec, header_bytes] = co_await bhttp::async_read_header(stream, buffer, parser, net::as_tuple(use_awaitable));
        (void)header_bytes;
        if (ec) {
            // A malformed request gets an answer; a closed, reset or timed-out one does not.
            if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() && ec != bhttp::error::end_of_stream &&
                ec != bhttp::error::partial_message) {
                co_await answer_bad_request(st, stream, ec);
            }
            break;
        }
        const request& head = parser.get();
        exchange ex{stream, head, {}, "addr:" + peer, {}, false, st.config.write_timeout, {}};
        ex.record.started = std::chrono::steady_clock::now();
        ex.record.id = request_id_from(field(head, "x-request-id"));
        if (!st.config.cors_origins.empty()) {
            const auto it = head.find(bhttp::field::origin);
            if (it != head.end() && origin_allowed(st.config, std::string_view(it->value().data(), it->value().size()))) {
                ex.cors_origin = std::string(it->value());
            }
        }
        // Key and rate limit from the head alone: a refused request's body is never read. With
        // a body still to come the connection then closes (after a bounded drain, so the
        // answer is not lost to a reset); without one it stays open.
        std::optional<api::api_error> refused;
        try {
            check_access(st, ex);
        } catch (const api::api_error& e) {
            refused = e;
        }
        if (refused) {
            const bool body_pending = !parser.is_done();
            auto res = error_response(ex, *refused);
            res.keep_alive(head.keep_alive() && !body_pending && !st.draining);
            res.prepare_payload();
            finish_request(st, ex, static_cast<unsigned>(refused->status));
            stream.expires_after(st.config.body_timeout);
            auto [wec, n] = co_await bhttp::async_write(stream, res, net::as_tuple(use_awaitable));
            (void)n;
            if (wec) break;
            if (body_pending) {
                co_await lingering_close(stream);
                break;
            }
            if (!res.keep_alive()) break;
            continue;
        }
        // The body limit is enforced from Content-Length before any of the body is read;
        // chunked bodies learn their size only while reading.
        bool too_large = parser.content_length() && *parser.content_length() > st.config.max_body;
        if (!too_large) {
            parser.body_limit(st.config.max_body);
            stream.expires_after(st.config.body_timeout);
            auto [bec, body_bytes] = co_await bhttp::async_read(stream, buffer, parser, net::as_tuple(use_awaitable));
            (void)body_bytes;
            too_large = bec == bhttp::error::body_limit;
            if (bec && !too_large) break;
        }
        if (too_large) {
            auto res = error_response(ex, api::payload_too_large("The request body is larger than " + std::to_string(st.config.max_body) + " bytes."));
            res.keep_alive(false);
            res.prepare_payload();
            finish_request(st, ex, 413);
            stream.expires_after(st.config.body_timeout);
            auto [wec, n] = co_await bhttp::async_write(stream, res, net::as_tuple(use_awaitable));
            (void)n;
            if (!wec) co_await lingering_close(stream);
            break;
        }
        const request& req = parser.get();
        ex.stream.expires_never();
        unsigned status = 200;
        std::optional<response> res;
        std::optional<api::api_error> failure;
        try {
            res = co_await route(st, ex);
        } catch (const api::api_error& e) {
            failure = e;
        } catch (const boost::system::system_error& e) {
            // The client went away (or stopped reading) while the handler wrote its answer.
            log::debug(std::string("connection ended: ") + e.what());
            if (ex.record.cancel_reason.empty()) {
                ex.record.cancel_reason = e.code() == beast::error::timeout ? cancel_reason::write_timeout : cancel_reason::client_gone;
            }
            finish_request(st, ex, status);
            break;
        } catch (const std::exception& e) {
            log::error(std::string("internal error: ") + e.what());
            failure = api::internal_error();
        }
        if (failure) res = error_response(ex, *failure);
        // An evicted connection (it was picked while idle, then a request came) and a
        // draining server close after this answer.
        bool keep = req.keep_alive() && !st.draining && !handle->evicted;
        // Counted before the answer goes out, so a client that reads /metrics next sees it.
        if (res) {
            status = res->result_int();
            res->keep_alive(keep);
            res->prepare_payload();
            if (req.method() == bhttp::verb::head) res->body().clear();  // Content-Length stays the GET body's
            finish_request(st, ex, status);
            stream.expires_after(st.config.body_timeout);
            auto [wec, n] = co_await bhttp::async_write(stream, *res, net::as_tuple(use_awaitable));
            (void)n;
            if (wec) keep = false;
        } else {
            finish_request(st, ex, status);
        }
        if (!keep) break;
    }
    co_await stream.close(std::chrono::seconds(1));
}

}  // namespace sluice::http::detail
