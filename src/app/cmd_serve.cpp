// `sluice serve`: load a model and serve the OpenAI-compatible API.
#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <sys/resource.h>

#include "api_key_file.hpp"
#include "cli_options.hpp"
#include "commands.hpp"
#include "model_download.hpp"
#include "speculation_options.hpp"
#include "sluice/chat/chat_template.hpp"
#include "sluice/engine/logit_bias.hpp"
#include "sluice/engine/scheduler.hpp"
#include "sluice/engine/llm_model.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/tools/tool_grammar.hpp"
#include "sluice/http/server.hpp"
#include "sluice/store/response_store.hpp"
#include "sluice/util/error.hpp"
#include "sluice/util/log.hpp"

namespace sluice::app {
namespace {

// Connections the process can hold: its descriptor limit less a margin for the model file,
// the store and logs, at most 4096.
std::size_t default_max_connections() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 4096;
    return static_cast<std::size_t>(std::clamp<rlim_t>(lim.rlim_cur, 128, 4096 + 64) - 64);
}

bool is_loopback(const std::string& host) {
    boost::system::error_code ec;
    const auto a = boost::asio::ip::make_address(host, ec);
    return !ec && a.is_loopback();
}

// -m, else $SLUICE_MODEL, else ../shared/models/stories260K.gguf when present, else the
// default model (downloaded once into ~/.cache/sluice).
std::string resolve_model(const po::variables_map& vm) {
    if (vm.count("model")) return vm["model"].as<std::string>();
    if (const char* env = std::getenv("SLUICE_MODEL"); env && *env) return env;
    if (std::filesystem::exists("../shared/models/stories260K.gguf")) return "../shared/models/stories260K.gguf";
    return ensure_default_model();
}

// /proc/meminfo's MemAvailable in bytes (0 when it cannot be read).
std::size_t available_memory() {
    std::ifstream f("/proc/meminfo");
    for (std::string key; f >> key;) {
        std::size_t kib = 0;
        f >> kib;
        if (key == "MemAvailable:") return kib << 10;
        f.ignore(64, '\n');
    }
    return 0;
}

// --kv-memory in bytes: as given, else half of the memory available beside the model
// (its mapped weights count as available page cache until they are read), at least 256 MiB.
std::size_t kv_memory(const po::variables_map& vm, std::size_t model_bytes) {
    if (vm.count("kv-memory")) {
        const int mib = vm["kv-memory"].as<int>();
        if (mib < 1) throw error(errc::invalid_argument, "--kv-memory must be at least 1 (MiB)");
        return static_cast<std::size_t>(mib) << 20;
    }
    const std::size_t avail = available_memory();
    const std::size_t beside = avail > model_bytes ? avail - model_bytes : 0;
    return std::max<std::size_t>(beside / 2, 256u << 20);
}

// The scheduler's sizes from the command line, each checked for a usable range.
engine::scheduler_config scheduler_config(const po::variables_map& vm, std::size_t n_ctx) {
    auto bounded = [&](const char* name, int lo, int hi) {
        const int v = vm[name].as<int>();
        if (v < lo || v > hi) {
            throw error(errc::invalid_argument, "--" + std::string(name) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
        }
        return static_cast<std::size_t>(v);
    };
    engine::scheduler_config c;
    c.n_ctx = n_ctx;
    c.threads = static_cast<std::size_t>(std::max(0, vm["threads"].as<int>()));
    c.parallel = bounded("parallel", 1, 64);
    c.queue_size = bounded("queue-size", 0, 100000);
    c.cache_bytes = bounded("cache-ram", 0, 1 << 20) << 20;
    c.prefill_chunk = bounded("prefill-chunk", 1, 448);  // + up to 64 decode rows: one 512-token batch
    c.speculation = speculation_of(vm);  // drafts take only the rows a step leaves free
    return c;
}

}  // namespace

// "3600", "90s", "90m", "12h", "30d" as a duration.
std::chrono::seconds parse_duration(const char* flag, const std::string& text) {
    std::size_t used = 0;
    long long n = -1;
    try {
        n = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    const std::string unit = text.substr(used);
    long long scale = 0;
    if (unit.empty() || unit == "s") scale = 1;
    else if (unit == "m") scale = 60;
    else if (unit == "h") scale = 3600;
    else if (unit == "d") scale = 86400;
    if (used == 0 || n < 1 || scale == 0 || n > (1ll << 40) / scale) {
        throw error(errc::invalid_argument, std::string(flag) + " must be a positive duration such as 3600, 90m, 12h or 30d, got '" + text + "'");
    }
    return std::chrono::seconds(n * scale);
}

int run_serve(const std::vector<std::string>& raw_args) {
    std::vector<std::string> args = raw_args;
    expand_draft_alias(args);
    po::options_description desc("serve options");
    desc.add_options()("help,h", "show this help")
        ("model,m", po::value<std::string>(), "GGUF model (default: $SLUICE_MODEL, ../shared/models/stories260K.gguf, then a download)")
        ("host", po::value<std::string>()->default_value("127.0.0.1"), "address to listen on")
        ("port", po::value<int>()->default_value(8080), "port (0: any free port)")
        ("alias", po::value<std::string>(), "model id clients see (default: the file name)")
        ("api-key", po::value<std::vector<std::string>>()->composing(), "accepted API key (repeatable; also $SLUICE_API_KEY)")
        ("api-key-file", po::value<std::string>(), "file with one API key per line (# comments; keeps keys out of argv)")
        ("insecure-no-auth", "allow a non-loopback address without API keys")
        ("rate-limit", po::value<double>()->default_value(0), "requests per minute per key or address (0: off)")
        ("rate-burst", po::value<double>()->default_value(0), "bucket size (default: rate / 6, at least 1)")
        ("ctx-size,c", po::value<int>(), "context size per sequence (default: the model's trained context)")
        ("kv-memory", po::value<int>(), "MiB the KV cache may use in all (default: half the available RAM beside the model)")
        ("strict-fields", "refuse unknown request fields with 400 instead of ignoring them")
        ("logit-bias,l", po::value<std::vector<std::string>>(), "TOKEN+BIAS or TOKEN-BIAS added to every request's logits; TOKEN an id or a token's text (repeatable)")
        ("n-predict,n", po::value<int>()->default_value(0), "most tokens any request generates (0: no cap beyond the context)")
        ("threads,t", po::value<int>()->default_value(0), "compute threads (0: physical cores)")
        ("parallel", po::value<int>()->default_value(4), "sequences generated at once (continuous batching)")
        ("queue-size", po::value<int>()->default_value(64), "requests waiting beyond --parallel; more get 503")
        ("cache-ram", po::value<int>()->default_value(256), "MiB of KV kept for the prefix cache (0: off)")
        ("prefill-chunk", po::value<int>()->default_value(64), "prompt tokens per step while other streams decode")
        ("max-body", po::value<std::size_t>()->default_value(16u << 20), "largest request body in bytes")
        ("write-timeout", po::value<int>()->default_value(30), "seconds any write to a client may take; a client that stops reading is dropped")
        ("max-connections", po::value<std::size_t>(), "open connections at most; when full the longest-idle keep-alive connection is closed to make room, else new ones are closed on accept (default: the descriptor limit less 64, at most 4096)")
        ("max-connections-per-ip", po::value<std::size_t>()->default_value(64), "open connections per client address at most, loopback included (0: no cap)")
        ("header-timeout", po::value<int>()->default_value(30), "seconds a request's whole head may take to arrive (slow clients are dropped)")
        ("tls-cert", po::value<std::string>(), "PEM certificate chain: serve HTTPS (TLS 1.2+); needs --tls-key; SIGHUP reloads both")
        ("tls-key", po::value<std::string>(), "PEM private key of --tls-cert")
        ("cors-origin", po::value<std::vector<std::string>>()->composing(), "allowed CORS origin (repeatable; '*' for any)")
        ("chat-template", po::value<std::string>(), "file with a chat template to use instead of the model's")
        ("shutdown-timeout", po::value<int>()->default_value(10), "seconds open requests get to finish on SIGINT/SIGTERM")
        ("log-format", po::value<std::string>()->default_value("text"), "text or json")
        ("data-dir", po::value<std::string>(), "directory of the Responses API store (default: $XDG_DATA_HOME/sluice or ~/.local/share/sluice)")
        ("store-ttl", po::value<std::string>()->default_value("30d"), "how long stored responses are kept (e.g. 3600, 90m, 12h, 30d)")
        ("store-max-mb", po::value<int>()->default_value(512), "MiB of stored responses kept; the oldest go first")
        ("no-store", "keep no responses (store: true is then ignored; previous_response_id gives 404)")
        ("config", po::value<std::string>(), "file of key = value lines with the same keys");
    add_speculation_options(desc);
    po::positional_options_description pos;
    po::variables_map vm;
    if (!parse_options("usage: sluice serve [-m MODEL.gguf] [--host H] [--port P] [--api-key KEY] ...", desc, pos, args, vm)) return 0;
    if (vm.count("config")) {
        try {
            po::store(po::parse_config_file<char>(vm["config"].as<std::string>().c_str(), desc), vm);
            po::notify(vm);
        } catch (const po::error& e) {
            throw error(errc::invalid_argument, std::string("--config: ") + e.what());
        }
    }

    http::server_config cfg;
    cfg.host = vm["host"].as<std::string>();
    const int port = vm["port"].as<int>();
    if (port < 0 || port > 65535) throw error(errc::invalid_argument, "--port must be 0-65535");
    cfg.port = static_cast<std::uint16_t>(port);
    if (vm.count("api-key")) cfg.api_keys = vm["api-key"].as<std::vector<std::string>>();
    if (vm.count("api-key-file")) {
        const auto more = read_api_key_file(vm["api-key-file"].as<std::string>());
        cfg.api_keys.insert(cfg.api_keys.end(), more.begin(), more.end());
    }
    if (const char* env = std::getenv("SLUICE_API_KEY"); env && *env) cfg.api_keys.emplace_back(env);
    if (cfg.api_keys.empty() && !is_loopback(cfg.host) && vm.count("insecure-no-auth") == 0) {
        throw error(errc::invalid_argument, "refusing to listen on " + cfg.host +
                                                " without an API key: anyone on the network could use the server. Set --api-key, "
                                                "--api-key-file or SLUICE_API_KEY, or pass --insecure-no-auth");
    }
    cfg.rate_per_minute = vm["rate-limit"].as<double>();
    cfg.rate_burst = vm["rate-burst"].as<double>();
    if (cfg.rate_per_minute < 0 || cfg.rate_burst < 0) throw error(errc::invalid_argument, "--rate-limit and --rate-burst must not be negative");
    cfg.max_body = vm["max-body"].as<std::size_t>();
    if (cfg.max_body < 1024) throw error(errc::invalid_argument, "--max-body must be at least 1024 bytes");
    const int write_timeout = vm["write-timeout"].as<int>();
    if (write_timeout < 1) throw error(errc::invalid_argument, "--write-timeout must be at least 1 second");
    cfg.write_timeout = std::chrono::seconds(write_timeout);
    cfg.max_connections = vm.count("max-connections") ? vm["max-connections"].as<std::size_t>() : default_max_connections();
    if (cfg.max_connections < 1) throw error(errc::invalid_argument, "--max-connections must be at least 1");
    cfg.max_connections_per_ip = vm["max-connections-per-ip"].as<std::size_t>();
    const int header_timeout = vm["header-timeout"].as<int>();
    if (header_timeout < 1) throw error(errc::invalid_argument, "--header-timeout must be at least 1 second");
    cfg.header_timeout = std::chrono::seconds(header_timeout);
    if (vm.count("tls-cert") != vm.count("tls-key")) {
        throw error(errc::invalid_argument, "--tls-cert and --tls-key go together: give both (HTTPS) or neither (HTTP)");
    }
    if (vm.count("tls-cert")) {
        cfg.tls_cert = vm["tls-cert"].as<std::string>();
        cfg.tls_key = vm["tls-key"].as<std::string>();
        if (cfg.tls_cert.empty() || cfg.tls_key.empty()) throw error(errc::invalid_argument, "--tls-cert and --tls-key must name files");
    }
    if (vm.count("cors-origin")) cfg.cors_origins = vm["cors-origin"].as<std::vector<std::string>>();
    const int shutdown = vm["shutdown-timeout"].as<int>();
    if (shutdown < 0) throw error(errc::invalid_argument, "--shutdown-timeout must not be negative");
    cfg.shutdown_timeout = std::chrono::seconds(shutdown);
    const auto fmt = vm["log-format"].as<std::string>();
    if (fmt != "text" && fmt != "json") throw error(errc::invalid_argument, "--log-format must be text or json");
    cfg.log_json = fmt == "json";
    log::set_json(cfg.log_json);  // every line JSON from here on, not only the requests
    cfg.strict_fields = vm.count("strict-fields") != 0;
    cfg.n_predict = vm["n-predict"].as<int>();
    if (cfg.n_predict < 0) throw error(errc::invalid_argument, "--n-predict must not be negative");
    if (vm.count("no-store") == 0) {
        store::store_options so;
        so.dir = vm.count("data-dir") ? std::filesystem::path(vm["data-dir"].as<std::string>()) : store::default_data_dir();
        so.ttl = parse_duration("--store-ttl", vm["store-ttl"].as<std::string>());
        const int mb = vm["store-max-mb"].as<int>();
        if (mb < 1) throw error(errc::invalid_argument, "--store-max-mb must be at least 1");
        so.max_bytes = static_cast<std::uint64_t>(mb) << 20;
        try {
            cfg.responses = std::make_shared<store::response_store>(so);
            log::info("responses store: " + so.dir.string());
        } catch (const error& e) {
            // The server still serves; only stored responses are unavailable.
            log::error(std::string("responses store unavailable (store and previous_response_id will not work): ") + e.what());
        }
    }

    // Listen first: /health answers 503 while the model loads (and a busy port fails fast).
    http::server srv(cfg);
    srv.listen();
    if (cfg.api_keys.empty()) log::warn("no API key configured: every client on " + cfg.host + " can use the server");
    if (!cfg.api_keys.empty() && cfg.tls_cert.empty() && !is_loopback(cfg.host)) {
        log::warn("API keys travel in clear text on " + cfg.host + ": serve HTTPS (--tls-cert, --tls-key) or put a TLS proxy in front");
    }
    std::exception_ptr failure;
    std::thread serving([&] {
        try {
            srv.run();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    struct join_on_exit {
        http::server& s;
        std::thread& t;
        ~join_on_exit() {
            if (t.joinable()) {
                s.stop();
                t.join();
            }
        }
    } joiner{srv, serving};

    const std::string path = resolve_model(vm);
    log::info("loading " + path);
    const auto file = model::gguf_file::open(path);
    const auto tok = engine::tokenizer::from_gguf(file);
    const auto m = engine::llm_model::load(file);
    std::string template_override;
    if (vm.count("chat-template")) {
        std::ifstream t(vm["chat-template"].as<std::string>());
        if (!t) throw error(errc::io, "--chat-template: cannot read '" + vm["chat-template"].as<std::string>() + "'");
        template_override.assign(std::istreambuf_iterator<char>(t), {});
    }
    const auto tmpl = chat::chat_template::for_model(file, tok.get_vocab(), template_override);
    std::size_t n_ctx = m->hparams().n_ctx_train > 0 ? m->hparams().n_ctx_train : 4096;
    if (vm.count("ctx-size")) {
        const int c = vm["ctx-size"].as<int>();
        if (c < 16) throw error(errc::invalid_argument, "--ctx-size must be at least 16");
        n_ctx = static_cast<std::size_t>(c);
        if (m->hparams().n_ctx_train > 0 && n_ctx > m->hparams().n_ctx_train) {
            log::warn("--ctx-size " + std::to_string(n_ctx) + " is beyond the model's trained context of " +
                      std::to_string(m->hparams().n_ctx_train) + " tokens: quality may degrade past it");
        }
    }
    auto sched_cfg = scheduler_config(vm, n_ctx);
    const auto draft = load_draft_model(vm, *m, tok.get_vocab(), sched_cfg.speculation);  // outlives the scheduler
    sched_cfg.kv_bytes = kv_memory(vm, file.file_size() + (draft ? draft->file.file_size() : 0));
    const tools::output_format format = tools::detect_format(tmpl.source(), [&](std::string_view text) {
        return tok.get_vocab().find(text) != engine::no_token;
    });
    sched_cfg.grammar_markup = tools::markup_tokens(format);
    log::info(std::string("tool calls: ") + tools::family_name(format.calls) + " syntax" +
              (format.reasoning != tools::reasoning_style::none ? ", reasoning markup" : ""));
    engine::scheduler gen(*m, tok.get_vocab(), sched_cfg, &tok);
    log::info("context " + std::to_string(n_ctx) + " tokens per sequence; KV memory " + std::to_string(sched_cfg.kv_bytes >> 20) +
              " MiB (" + std::to_string(gen.current_load().kv_blocks * sched_cfg.block_size) + " positions" +
              (gen.current_load().swa_blocks > 0
                   ? ", sliding-window layers " + std::to_string(gen.current_load().swa_blocks * sched_cfg.block_size) + " positions"
                   : std::string()) +
              "); longest request " + std::to_string(gen.max_sequence()) + " tokens");
    if (draft) {
        log::info("speculative decoding with draft model " + vm["model-draft"].as<std::string>() + ": up to " +
                  std::to_string(sched_cfg.speculation.max_draft) + " draft tokens per step; its KV " +
                  std::to_string(gen.draft_kv_bytes() >> 20) + " MiB of the KV memory");
    }

    http::served_model served;
    served.id = vm.count("alias") ? vm["alias"].as<std::string>() : std::filesystem::path(path).stem().string();
    served.tokenizer = &tok;
    served.chat = &tmpl;
    served.format = format;
    served.generator = &gen;
    for (const auto& spec : vm.count("logit-bias") ? vm["logit-bias"].as<std::vector<std::string>>() : std::vector<std::string>{}) {
        const auto [id, bias] = engine::parse_logit_bias(spec, tok.get_vocab());
        served.logit_bias[id] = bias;
    }
    served.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    srv.set_model(served);
    serving.join();  // until SIGINT/SIGTERM and the drain
    if (failure) std::rethrow_exception(failure);
    return 0;
}

}  // namespace sluice::app
