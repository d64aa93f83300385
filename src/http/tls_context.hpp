// The server's TLS certificate and key (--tls-cert, --tls-key): loaded into a TLS 1.2+
// server context, and swapped for a freshly loaded one on reload (SIGHUP). Connections
// take the current context when they are accepted and keep it (a shared_ptr) until they
// end, so a reload never touches an open connection; only new handshakes see it.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace sluice::http::detail {

// A server context from PEM files: `cert_file` the certificate chain (leaf first), `key_file`
// its private key. TLS 1.0 and 1.1 (and SSL) are refused. Throws sluice::error naming the
// file and OpenSSL's reason when a file cannot be read or parsed, or the key does not
// belong to the certificate.
std::shared_ptr<boost::asio::ssl::context> load_tls_context(const std::string& cert_file, const std::string& key_file);

// Thread-safe holder of the current context (any thread may call).
class tls_contexts {
public:
    // Loads the files (throws as load_tls_context does: a bad pair fails start-up).
    tls_contexts(std::string cert_file, std::string key_file);
    std::shared_ptr<boost::asio::ssl::context> current() const;
    // Loads the files again; on success new connections get the new context. On failure
    // the current context stays and the reason is returned ("" on success).
    std::string reload();
    const std::string& cert_file() const noexcept { return cert_file_; }

private:
    std::string cert_file_, key_file_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace sluice::http::detail
