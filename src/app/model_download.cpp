#include "model_download.hpp"

#include <sodium.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <variant>

#include "sluice/util/error.hpp"
#include "sluice/util/log.hpp"

namespace sluice::app {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace bhttp = beast::http;

constexpr const char* k_default_url =
    "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/resolve/main/smollm2-135m-instruct-q8_0.gguf";

struct url_parts {
    bool tls = true;
    std::string host, port, target;
};

url_parts parse_url(const std::string& url) {
    url_parts u;
    std::string rest;
    if (url.rfind("https://", 0) == 0) {
        rest = url.substr(8);
    } else if (url.rfind("http://", 0) == 0) {
        u.tls = false;
        rest = url.substr(7);
    } else {
        throw error(errc::invalid_argument, "download: unsupported URL '" + url + "'");
    }
    const auto slash = rest.find('/');
    const std::string hostport = rest.substr(0, slash);
    u.target = slash == std::string::npos ? "/" : rest.substr(slash);
    const auto colon = hostport.rfind(':');
    u.host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
    u.port = colon == std::string::npos ? (u.tls ? "443" : "80") : hostport.substr(colon + 1);
    return u;
}

std::string cache_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/sluice";
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') throw error(errc::io, "download: HOME is not set; pass -m MODEL.gguf instead");
    return std::string(home) + "/.cache/sluice";
}

// A 64-hex-digit SHA-256 from an ETag-style header value, or "".
std::string sha256_of_etag(std::string v) {
    std::erase(v, '"');
    if (v.rfind("W/", 0) == 0) v.erase(0, 2);
    if (v.size() != 64) return "";
    for (char& c : v) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return v;
}

void progress(std::uint64_t done, std::uint64_t total, std::chrono::steady_clock::time_point t0) {
    const double secs = std::max(1e-3, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    const double mb = static_cast<double>(done) / 1e6;
    if (total > 0) {
        const int width = 30, filled = static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total));
        std::fprintf(stderr, "\r  [%.*s%*s] %5.1f%%  %.1f / %.1f MB  %.1f MB/s ", filled, "##############################", width - filled, "",
                     100.0 * static_cast<double>(done) / static_cast<double>(total), mb, static_cast<double>(total) / 1e6, mb / secs);
    } else {
        std::fprintf(stderr, "\r  %.1f MB  %.1f MB/s ", mb, mb / secs);
    }
}

// Downloads `url` into `out`, following redirects; returns the advertised SHA-256 ("" if none).
std::string fetch(std::string url, const std::string& out_path, unsigned char digest[32]) {
    net::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(ssl::verify_peer);
    std::string advertised;
    for (int hop = 0; hop < 8; ++hop) {
        const url_parts u = parse_url(url);
        net::ip::tcp::resolver resolver(ioc);
        const auto endpoints = resolver.resolve(u.host, u.port);
        using plain = beast::tcp_stream;
        using secure = beast::ssl_stream<beast::tcp_stream>;
        std::variant<std::unique_ptr<plain>, std::unique_ptr<secure>> conn;
        if (u.tls) {
            auto s = std::make_unique<secure>(ioc, ctx);
            if (!SSL_set_tlsext_host_name(s->native_handle(), u.host.c_str())) throw error(errc::io, "download: TLS SNI failed");
            s->set_verify_callback(ssl::host_name_verification(u.host));
            beast::get_lowest_layer(*s).connect(endpoints);
            s->handshake(ssl::stream_base::client);
            conn = std::move(s);
        } else {
            auto s = std::make_unique<plain>(ioc);
            s->connect(endpoints);
            conn = std::move(s);
        }
        bhttp::request<bhttp::empty_body> req{bhttp::verb::get, u.target, 11};
        req.set(bhttp::field::host, u.host);
        req.set(bhttp::field::user_agent, "sluice/0.1");
        beast::flat_buffer buf;
        bhttp::response_parser<bhttp::buffer_body> parser;
        parser.body_limit(boost::none);
        std::visit([&](auto& s) { bhttp::write(*s, req); bhttp::read_header(*s, buf, parser); }, conn);
        const auto& head = parser.get();
        for (const char* h : {"x-linked-etag", "etag"}) {
            if (advertised.empty() && head.find(h) != head.end()) advertised = sha256_of_etag(std::string(head[h]));
        }
        const unsigned status = head.result_int();
        if (status >= 300 && status < 400 && head.find(bhttp::field::location) != head.end()) {
            std::string loc(head[bhttp::field::location]);
            if (loc.rfind("/", 0) == 0) loc = (u.tls ? "https://" : "http://") + u.host + ":" + u.port + loc;
            log::debug("download: redirected to " + loc);
            url = loc;
            continue;
        }
        if (status != 200) throw error(errc::io, "download: " + url + " answered HTTP " + std::to_string(status));
        const std::uint64_t total = parser.content_length().value_or(0);
        std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
        if (!out) throw error(errc::io, "download: cannot write '" + out_path + "'");
        crypto_hash_sha256_state sha;
        crypto_hash_sha256_init(&sha);
        std::vector<char> chunk(1 << 16);
        std::uint64_t done = 0;
        const auto t0 = std::chrono::steady_clock::now();
        while (!parser.is_done()) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            beast::error_code ec;
            std::visit([&](auto& s) { bhttp::read(*s, buf, parser, ec); }, conn);
            if (ec && ec != bhttp::error::need_buffer) throw error(errc::io, "download interrupted: " + ec.message());
            const std::size_t n = chunk.size() - parser.get().body().size;
            out.write(chunk.data(), static_cast<std::streamsize>(n));
            crypto_hash_sha256_update(&sha, reinterpret_cast<const unsigned char*>(chunk.data()), n);
            done += n;
            progress(done, total, t0);
        }
        std::fputc('\n', stderr);
        if (!out) throw error(errc::io, "download: write to '" + out_path + "' failed");
        crypto_hash_sha256_final(&sha, digest);
        return advertised;
    }
    throw error(errc::io, "download: too many redirects");
}

std::string hex(const unsigned char* d, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        s += digits[d[i] >> 4];
        s += digits[d[i] & 15];
    }
    return s;
}

}  // namespace

std::string default_model_url() {
    const char* env = std::getenv("SLUICE_DEFAULT_MODEL_URL");
    return env && *env ? env : k_default_url;
}

std::string ensure_default_model() {
    if (sodium_init() < 0) throw error(errc::io, "libsodium failed to initialise");
    const std::string url = default_model_url();
    std::string name = parse_url(url).target;
    name = name.substr(name.rfind('/') + 1);
    if (name.empty()) name = "default-model.gguf";
    const std::string dir = cache_dir();
    const std::string path = dir + "/" + name;
    if (std::filesystem::exists(path)) {
        log::info("using the cached default model " + path);
        return path;
    }
    std::filesystem::create_directories(dir);
    log::info("no model given (-m) and no SLUICE_MODEL: downloading the default model");
    log::info("  from " + url);
    log::info("  to   " + path);
    const std::string part = path + ".part";
    unsigned char digest[32];
    std::string advertised;
    try {
        advertised = fetch(url, part, digest);
    } catch (const error&) {
        std::filesystem::remove(part);
        throw;
    } catch (const std::exception& e) {
        std::filesystem::remove(part);
        throw error(errc::io, std::string("download failed: ") + e.what());
    }
    const std::string got = hex(digest, 32);
    if (!advertised.empty() && advertised != got) {
        std::filesystem::remove(part);
        throw error(errc::io, "download: checksum mismatch (expected sha256 " + advertised + ", got " + got + "); the file was removed");
    }
    log::info(advertised.empty() ? "  sha256 " + got + " (the server advertised no checksum)" : "  sha256 " + got + " verified");
    std::filesystem::rename(part, path);
    return path;
}

}  // namespace sluice::app
