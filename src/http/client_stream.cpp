#include "client_stream.hpp"

namespace sluice::http::detail {

namespace net = boost::asio;

client_stream::client_stream(net::ip::tcp::socket socket) : plain_(std::in_place, std::move(socket)) {}

client_stream::client_stream(net::ip::tcp::socket socket, std::shared_ptr<net::ssl::context> context)
    : context_(std::move(context)), tls_(std::in_place, std::move(socket), *context_) {}

net::awaitable<boost::system::error_code> client_stream::handshake() {
    if (!tls_) co_return boost::system::error_code{};
    auto [ec] = co_await tls_->async_handshake(net::ssl::stream_base::server, net::as_tuple(net::use_awaitable));
    co_return ec;
}

net::awaitable<void> client_stream::close(std::chrono::milliseconds grace) {
    boost::system::error_code ignored;
    if (tls_ && socket().is_open()) {
        tcp().expires_after(grace);
        co_await tls_->async_shutdown(net::as_tuple(net::use_awaitable));
    }
    if (socket().is_open()) socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace sluice::http::detail
