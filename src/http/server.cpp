#include "sluice/http/server.hpp"

#include <boost/asio/signal_set.hpp>
#include <optional>
#include <thread>

#include "connection.hpp"
#include "tls_context.hpp"
#include "sluice/util/error.hpp"
#include "sluice/util/log.hpp"

namespace sluice::http {
namespace {

using namespace detail;
using net::use_awaitable;

// Accepts connections until the acceptor closes; each gets the TLS context current at its
// accept (null: plain HTTP). The connection caps are applied by serve_connection.
net::awaitable<void> accept_loop(server_state& st, net::ip::tcp::acceptor& acceptor, const tls_contexts* tls) {
    net::steady_timer pause(co_await net::this_coro::executor);
    std::chrono::milliseconds backoff{0};
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(use_awaitable));
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
            // Out of descriptors (EMFILE) or buffers: retrying at once would spin and flood the
            // log. Wait, doubling from 10 ms to 1 s, and log when the waiting starts or peaks.
            backoff = std::min<std::chrono::milliseconds>(backoff.count() == 0 ? std::chrono::milliseconds(10) : backoff * 2,
                                                          std::chrono::seconds(1));
            if (backoff.count() == 10 || backoff.count() == 1000) {
                log::warn("accept failed: " + ec.message() + "; retrying in " + std::to_string(backoff.count()) + " ms");
            }
            pause.expires_after(backoff);
            co_await pause.async_wait(net::as_tuple(use_awaitable));
            continue;
        }
        backoff = std::chrono::milliseconds(0);
        socket.set_option(net::ip::tcp::no_delay(true), ec);
        // One coroutine per connection, on its own strand. Its lifetime is bounded by the
        // io_context, which the drain below stops only after open requests finished.
        auto strand = net::make_strand(acceptor.get_executor());
        net::co_spawn(strand, serve_connection(st, std::move(socket), tls ? tls->current() : nullptr), [](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log::warn(std::string("connection error: ") + ex.what());
            }
        });
    }
}

// SIGINT/SIGTERM: stop accepting, answer new requests with 503, wait for the requests in
// flight (bounded by shutdown_timeout), then stop.
net::awaitable<void> drain_on_signal(server_state& st, net::ip::tcp::acceptor& acceptor, net::io_context& ioc, net::signal_set& signals) {
    auto [ec, sig] = co_await signals.async_wait(net::as_tuple(use_awaitable));
    if (ec) co_return;
    log::info("signal " + std::to_string(sig) + ": draining (" + std::to_string(st.in_flight.load()) + " requests in flight)");
    st.draining = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    const auto deadline = std::chrono::steady_clock::now() + st.config.shutdown_timeout;
    net::steady_timer timer(co_await net::this_coro::executor);
    while (st.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(net::as_tuple(use_awaitable));
    }
    if (st.in_flight.load() > 0) {
        // Out of time: cancel the generations still running, so that each ends with an error
        // its client can read and its log line, then give them a moment to write it.
        log::warn("shutdown timeout: cutting off " + std::to_string(st.in_flight.load()) + " requests");
        st.cut_off_generations();
        const auto grace = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (st.in_flight.load() > 0 && std::chrono::steady_clock::now() < grace) {
            timer.expires_after(std::chrono::milliseconds(20));
            co_await timer.async_wait(net::as_tuple(use_awaitable));
        }
        if (st.in_flight.load() > 0) log::warn("shutdown: " + std::to_string(st.in_flight.load()) + " requests dropped");
    }
    ioc.stop();
}

// SIGHUP: load the certificate and key again for new connections; open ones keep theirs.
// A pair that fails to load changes nothing (the reason is logged). Without TLS there is
// nothing to reload, and SIGHUP is only logged (it does not end the process).
net::awaitable<void> reload_on_hangup(tls_contexts* tls, net::signal_set& signals) {
    for (;;) {
        auto [ec, sig] = co_await signals.async_wait(net::as_tuple(use_awaitable));
        (void)sig;
        if (ec) co_return;
        if (tls == nullptr) {
            log::info("SIGHUP: nothing to reload (no --tls-cert)");
            continue;
        }
        if (const std::string failure = tls->reload(); failure.empty()) {
            log::info("SIGHUP: TLS certificate reloaded from " + tls->cert_file() + "; new connections use it");
        } else {
            log::error("SIGHUP: TLS certificate not reloaded, keeping the previous one: " + failure);
        }
    }
}

}  // namespace

struct server::impl {
    net::io_context ioc;
    server_state st;
    net::ip::tcp::acceptor acceptor{ioc};
    std::optional<net::signal_set> stop_signals, hangup_signals;  // made in run(), before its threads
    std::unique_ptr<tls_contexts> tls;  // null: plain HTTP
    explicit impl(server_config c) : st(std::move(c)) {
        if (!st.config.tls_cert.empty() || !st.config.tls_key.empty()) {
            tls = std::make_unique<tls_contexts>(st.config.tls_cert, st.config.tls_key);
        }
    }
};

server::server(server_config config) : impl_(std::make_unique<impl>(std::move(config))) {}
server::~server() = default;

std::uint16_t server::listen() {
    auto& cfg = impl_->st.config;
    auto& acceptor = impl_->acceptor;
    boost::system::error_code ec;
    const auto address = net::ip::make_address(cfg.host, ec);
    if (ec) throw error(errc::invalid_argument, "--host: '" + cfg.host + "' is not an IP address");
    const net::ip::tcp::endpoint endpoint(address, cfg.port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw error(errc::io, "cannot listen on " + cfg.host + ":" + std::to_string(cfg.port) + ": " + ec.message());
    const auto port = acceptor.local_endpoint().port();
    log::info(std::string("listening on ") + (impl_->tls ? "https://" : "http://") + cfg.host + ":" + std::to_string(port));
    return port;
}

void server::set_model(served_model model) {
    impl_->st.model = std::move(model);
    impl_->st.ready.store(true, std::memory_order_release);
    log::info("model '" + impl_->st.model.id + "' ready");
}

void server::stop() {
    net::post(impl_->ioc, [this] {
        boost::system::error_code ignored;
        impl_->acceptor.close(ignored);
        impl_->ioc.stop();
    });
}

void server::run() {
    auto& ioc = impl_->ioc;
    net::co_spawn(ioc, accept_loop(impl_->st, impl_->acceptor, impl_->tls.get()), net::detached);
    // The signal sets are made here, on one thread, before the I/O threads start: made
    // inside the two coroutines they were constructed concurrently on the two threads, and
    // now and then the self-pipe Asio's signal service reads was left out of the reactor,
    // so SIGTERM was written to the pipe and never seen (a server that ignored SIGTERM).
    impl_->stop_signals.emplace(ioc, SIGINT, SIGTERM);
    impl_->hangup_signals.emplace(ioc, SIGHUP);
    net::co_spawn(ioc, reload_on_hangup(impl_->tls.get(), *impl_->hangup_signals), net::detached);
    // A drain that fails must still stop the server (a detached coroutine would swallow it).
    net::co_spawn(ioc, drain_on_signal(impl_->st, impl_->acceptor, ioc, *impl_->stop_signals), [&ioc](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error(std::string("drain failed, stopping now: ") + ex.what());
        }
        ioc.stop();
    });
    // Network I/O is light next to generation: two threads keep slow clients from blocking others.
    std::thread second([&] { ioc.run(); });
    ioc.run();
    second.join();
    log::info("stopped");
}

}  // namespace sluice::http
