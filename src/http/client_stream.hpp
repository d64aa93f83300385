// A client connection's byte stream: plain TCP, or TLS over TCP. The one connection code
// path (connection.cpp, event_stream.cpp, the generation pipeline) reads and writes through
// this type and never asks which it is, except to start and to end the connection.
//
// It is an Asio AsyncReadStream and AsyncWriteStream, so Beast's http::async_read /
// async_write and net::async_write work on it; every operation dispatches to the TLS stream
// when there is one, else to the TCP stream. Deadlines (expires_after) are the TCP stream's
// and apply to the TLS records read or written through it. Used on its connection's strand
// only, like the sockets it owns.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

namespace sluice::http::detail {

class client_stream {
public:
    using executor_type = boost::beast::tcp_stream::executor_type;

    // Plain HTTP.
    explicit client_stream(boost::asio::ip::tcp::socket socket);
    // TLS with `context` (kept alive as long as the stream: a certificate reload swaps the
    // server's context, not this one). handshake() before anything else.
    client_stream(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> context);

    bool tls() const noexcept { return tls_.has_value(); }
    executor_type get_executor() noexcept { return tcp().get_executor(); }
    boost::beast::tcp_stream& tcp() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
    boost::asio::ip::tcp::socket& socket() noexcept { return tcp().socket(); }
    void expires_after(std::chrono::steady_clock::duration d) { tcp().expires_after(d); }
    void expires_never() { tcp().expires_never(); }

    // The TLS server handshake, within the current deadline (plain: nothing to do). An
    // error (a client offering only TLS 1.1, plain HTTP on a TLS port) ends the connection.
    boost::asio::awaitable<boost::system::error_code> handshake();
    // Ends the connection: TLS sends its close_notify (waiting at most `grace` for the
    // client's), then the TCP send side is shut down.
    boost::asio::awaitable<void> close(std::chrono::milliseconds grace);

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (tls_) {
                    tls_->async_read_some(b, std::move(handler));
                } else {
                    plain_->async_read_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                if (tls_) {
                    tls_->async_write_some(b, std::move(handler));
                } else {
                    plain_->async_write_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

private:
    std::shared_ptr<boost::asio::ssl::context> context_;  // declared first: outlives tls_
    std::optional<boost::beast::tcp_stream> plain_;
    std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
};

}  // namespace sluice::http::detail
