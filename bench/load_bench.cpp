// Load generator for a running server, speaking SSE: C concurrent streams, each sending
// `--rounds` streaming completions one after another, for every C in `--concurrency`.
// Reports per level: aggregate generated tokens/s (usage.completion_tokens of every
// request over the level's wall time), time to first token p50/p99 and inter-token
// latency p50/p99 (gaps between content frames, which the server writes one per token).
//
//   build/bench/load_bench [--url http://127.0.0.1:8080] [--api-key KEY] [--concurrency 1,4,8]
//                          [--rounds 3] [--max-tokens 64] [--prompt TEXT] [--ban-token ID]
//                          [--extra JSON]   (fields merged into each request, e.g. a response_format)
//
// --ban-token gives that token id a logit bias of -100 (the model's end-of-generation
// token) so every request generates exactly --max-tokens tokens.
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

struct options {
    std::string host = "127.0.0.1", port = "8080", api_key, prompt = "Once upon a time, in a small village by the sea,";
    std::vector<int> concurrency{1, 4, 8};
    json::object extra;  // fields merged into every request body
    int rounds = 3, max_tokens = 64;
    long ban_token = -1;
};

struct request_stats {
    bool ok = false;
    std::string error;
    double ttft_ms = 0;
    std::vector<double> gaps_ms;
    long completion_tokens = 0;
};

double ms_between(clock_type::time_point a, clock_type::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// One streaming completion; frame arrival times come from the chunk callback.
request_stats run_request(const options& o) {
    request_stats st;
    try {
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        stream.connect(net::ip::tcp::resolver(ioc).resolve(o.host, o.port));
        json::object body{{"prompt", o.prompt}, {"max_tokens", o.max_tokens}, {"temperature", 0}, {"stream", true},
                          {"stream_options", json::object{{"include_usage", true}}}};
        if (o.ban_token >= 0) body["logit_bias"] = json::object{{std::to_string(o.ban_token), -100}};
        for (const auto& kv : o.extra) body[kv.key()] = kv.value();  // --extra: e.g. a response_format
        bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/completions", 11};
        req.set(bhttp::field::host, o.host);
        req.set(bhttp::field::content_type, "application/json");
        if (!o.api_key.empty()) req.set(bhttp::field::authorization, "Bearer " + o.api_key);
        req.body() = json::serialize(body);
        req.prepare_payload();
        const auto t0 = clock_type::now();
        bhttp::write(stream, req);

        beast::flat_buffer buf;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 << 20);
        std::string pending;
        std::optional<clock_type::time_point> last;
        auto on_frame = [&](const std::string& frame) {
            if (frame.rfind("data: ", 0) != 0 || frame == "data: [DONE]") return;
            const auto v = json::parse(frame.substr(6)).as_object();
            if (const auto* u = v.if_contains("usage"); u && u->is_object()) st.completion_tokens = u->as_object().at("completion_tokens").as_int64();
            const auto& choices = v.at("choices").as_array();
            if (choices.empty() || choices[0].as_object().at("text").as_string().empty()) return;
            const auto now = clock_type::now();
            if (!last) st.ttft_ms = ms_between(t0, now);
            else st.gaps_ms.push_back(ms_between(*last, now));
            last = now;
        };
        std::function<std::size_t(std::uint64_t, beast::string_view, boost::system::error_code&)> on_chunk =
            [&](std::uint64_t, beast::string_view data, boost::system::error_code&) {
                pending.append(data.data(), data.size());
                for (std::size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
                    on_frame(pending.substr(0, end));
                    pending.erase(0, end + 2);
                }
                return data.size();
            };
        parser.on_chunk_body(on_chunk);
        bhttp::read(stream, buf, parser);
        if (parser.get().result() != bhttp::status::ok) {
            st.error = "HTTP " + std::to_string(parser.get().result_int()) + " " + parser.get().body();
            return st;
        }
        st.ok = true;
    } catch (const std::exception& e) {
        st.error = e.what();
    }
    return st;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

std::vector<int> parse_list(const std::string& s) {
    std::vector<int> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoi(item));
    return out;
}

bool parse_url(const std::string& url, options& o) {
    const std::string scheme = "http://";
    if (url.rfind(scheme, 0) != 0) return false;
    std::string rest = url.substr(scheme.size());
    rest = rest.substr(0, rest.find('/'));
    const auto colon = rest.rfind(':');
    o.host = rest.substr(0, colon);
    o.port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
    return !o.host.empty();
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--url") {
            if (!parse_url(v, o)) { std::fprintf(stderr, "load_bench: --url must look like http://HOST:PORT\n"); return 2; }
        } else if (k == "--api-key") o.api_key = v;
        else if (k == "--concurrency") o.concurrency = parse_list(v);
        else if (k == "--rounds") o.rounds = std::stoi(v);
        else if (k == "--max-tokens") o.max_tokens = std::stoi(v);
        else if (k == "--prompt") o.prompt = v;
        else if (k == "--ban-token") o.ban_token = std::stol(v);
        else if (k == "--extra") {
            json::error_code ec;
            const auto x = json::parse(v, ec);
            if (ec || !x.is_object()) { std::fprintf(stderr, "load_bench: --extra must be a JSON object\n"); return 2; }
            o.extra = x.get_object();
        }
        else { std::fprintf(stderr, "load_bench: unknown option %s\n", k.c_str()); return 2; }
    }
    std::printf("server http://%s:%s, %d rounds per stream, max_tokens %d\n", o.host.c_str(), o.port.c_str(), o.rounds, o.max_tokens);
    std::printf("%8s %12s %10s %10s %10s %10s %8s\n", "streams", "agg tok/s", "ttft p50", "ttft p99", "itl p50", "itl p99", "errors");
    double single_rate = 0;
    for (const int c : o.concurrency) {
        std::mutex m;
        std::vector<request_stats> all;
        const auto t0 = clock_type::now();
        std::vector<std::thread> streams;
        for (int s = 0; s < c; ++s) {
            streams.emplace_back([&] {
                for (int r = 0; r < o.rounds; ++r) {
                    auto st = run_request(o);
                    std::lock_guard lock(m);
                    all.push_back(std::move(st));
                }
            });
        }
        for (auto& t : streams) t.join();
        const double wall_s = ms_between(t0, clock_type::now()) / 1000.0;
        long tokens = 0;
        int errors = 0;
        std::vector<double> ttft, gaps;
        std::string first_error;
        for (const auto& st : all) {
            if (!st.ok) {
                if (errors++ == 0) first_error = st.error;
                continue;
            }
            tokens += st.completion_tokens;
            ttft.push_back(st.ttft_ms);
            gaps.insert(gaps.end(), st.gaps_ms.begin(), st.gaps_ms.end());
        }
        const double rate = static_cast<double>(tokens) / wall_s;
        if (c == o.concurrency.front()) single_rate = rate;
        std::printf("%8d %12.1f %8.1fms %8.1fms %8.1fms %8.1fms %8d   (%.2fx the first level)\n", c, rate, percentile(ttft, 50),
                    percentile(ttft, 99), percentile(gaps, 50), percentile(gaps, 99), errors, single_rate > 0 ? rate / single_rate : 0.0);
        if (!first_error.empty()) std::printf("         first error: %s\n", first_error.c_str());
    }
    return 0;
}
