// `sluice status [--url URL] [--api-key KEY]`: whether a server answers, its model, and
// whether the key is accepted. Exit 0 when the server is up and usable with the key.
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>
#include <iostream>

#include "cli_options.hpp"
#include "commands.hpp"
#include "sluice/util/error.hpp"

namespace sluice::app {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

struct reply {
    int status = 0;  // 0: no answer
    std::string body;
    std::string error;
};

// One GET with a 5 s deadline.
reply get(const std::string& host, const std::string& port, const std::string& target, const std::string& key) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::flat_buffer buf;
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, host);
    req.set(bhttp::field::user_agent, "sluice-status");
    if (!key.empty()) req.set(bhttp::field::authorization, "Bearer " + key);
    bhttp::response<bhttp::string_body> res;
    reply out;
    net::ip::tcp::resolver resolver(ioc);
    stream.expires_after(std::chrono::seconds(5));
    resolver.async_resolve(host, port, [&](beast::error_code ec, net::ip::tcp::resolver::results_type results) {
        if (ec) { out.error = ec.message(); return; }
        stream.async_connect(results, [&](beast::error_code cec, const net::ip::tcp::endpoint&) {
            if (cec) { out.error = cec.message(); return; }
            bhttp::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
                if (wec) { out.error = wec.message(); return; }
                bhttp::async_read(stream, buf, res, [&](beast::error_code rec, std::size_t) {
                    if (rec) { out.error = rec.message(); return; }
                    out.status = static_cast<int>(res.result_int());
                    out.body = res.body();
                });
            });
        });
    });
    ioc.run();
    return out;
}

}  // namespace

int run_status(const std::vector<std::string>& args) {
    po::options_description desc("status options");
    desc.add_options()("help,h", "show this help")
        ("url", po::value<std::string>()->default_value("http://127.0.0.1:8080"), "server address (http://HOST:PORT)")
        ("api-key", po::value<std::string>(), "API key to check (default: $SLUICE_API_KEY)");
    po::positional_options_description pos;
    po::variables_map vm;
    if (!parse_options("usage: sluice status [--url URL] [--api-key KEY]", desc, pos, args, vm)) return 0;
    std::string url = vm["url"].as<std::string>();
    if (url.rfind("http://", 0) != 0) throw error(errc::invalid_argument, "--url must start with http:// (TLS is not supported)");
    url.erase(0, 7);
    const auto slash = url.find('/');
    const std::string hostport = url.substr(0, slash);
    const std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
    const auto colon = hostport.rfind(':');
    const std::string host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
    const std::string port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
    std::string key = vm.count("api-key") ? vm["api-key"].as<std::string>() : "";
    if (key.empty()) {
        if (const char* env = std::getenv("SLUICE_API_KEY")) key = env;
    }

    const auto health = get(host, port, prefix + "/health", "");
    if (health.status == 0) {
        std::cout << "server:  not answering at http://" << hostport << " (" << health.error << ")\n";
        return 1;
    }
    std::cout << "server:  " << (health.status == 200 ? "up" : health.status == 503 ? "draining" : "unhealthy (HTTP " + std::to_string(health.status) + ")")
              << " at http://" << hostport << "\n";
    const auto models = get(host, port, prefix + "/v1/models", key);
    if (models.status == 200) {
        boost::system::error_code ec;
        const auto j = boost::json::parse(models.body, ec);
        std::string id = "?";
        if (!ec && j.is_object() && j.as_object().contains("data") && j.at("data").is_array() && !j.at("data").as_array().empty() &&
            j.at("data").as_array()[0].is_object() && j.at("data").as_array()[0].as_object().contains("id")) {
            id = boost::json::value_to<std::string>(j.at("data").as_array()[0].at("id"));
        }
        std::cout << "model:   " << id << "\n";
        std::cout << "api key: " << (key.empty() ? "none needed" : "accepted") << "\n";
        return health.status == 200 ? 0 : 1;
    }
    if (models.status == 401) {
        std::cout << "api key: " << (key.empty() ? "required (pass --api-key or set SLUICE_API_KEY)" : "rejected") << "\n";
        return 1;
    }
    std::cout << "models:  HTTP " << models.status << "\n";
    return 1;
}

}  // namespace sluice::app
