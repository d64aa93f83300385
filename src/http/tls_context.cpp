#include "tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sluice/util/error.hpp"

namespace sluice::http::detail {
namespace {

namespace ssl = boost::asio::ssl;

// OpenSSL's reason for the last failure (its queue is per thread), then clears the queue.
std::string openssl_reason(const boost::system::error_code& ec) {
    std::string reason = ec.message();
    if (const unsigned long e = ERR_peek_last_error(); e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        reason = buf;
    }
    ERR_clear_error();
    return reason;
}

}  // namespace

std::shared_ptr<ssl::context> load_tls_context(const std::string& cert_file, const std::string& key_file) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                     ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    // The options above and the minimum version say the same; the minimum also holds when
    // the system's OpenSSL configuration would allow older versions.
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cert_file, ec);
    if (ec) throw error(errc::invalid_argument, "--tls-cert '" + cert_file + "': cannot load the certificate: " + openssl_reason(ec));
    ctx->use_private_key_file(key_file, ssl::context::pem, ec);
    if (ec) throw error(errc::invalid_argument, "--tls-key '" + key_file + "': cannot load the private key: " + openssl_reason(ec));
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        ERR_clear_error();
        throw error(errc::invalid_argument, "--tls-key '" + key_file + "' is not the private key of the certificate in '" + cert_file + "'");
    }
    return ctx;
}

tls_contexts::tls_contexts(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), current_(load_tls_context(cert_file_, key_file_)) {}

std::shared_ptr<ssl::context> tls_contexts::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

std::string tls_contexts::reload() {
    try {
        auto fresh = load_tls_context(cert_file_, key_file_);
        std::lock_guard lock(mutex_);
        current_ = std::move(fresh);
        return {};
    } catch (const error& e) {
        return e.what();
    }
}

}  // namespace sluice::http::detail
