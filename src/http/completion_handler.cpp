// POST /v1/chat/completions and /v1/completions: validate, render the chat template,
// tokenize, check the context, submit the job to the engine's scheduler (503 with
// Retry-After when its queue is full) and relay its
// tokens -- as one JSON response, or as SSE frames (`data: {...}\n\n`, then
// `data: [DONE]`). Both modes decode and apply stop strings the same way, so they
// produce the same text. A client that leaves (a failed write, or its socket closing
// while the job runs) cancels the job, which the engine sees before its next token.
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <random>

#include <sys/socket.h>

#include "connection.hpp"
#include "sluice/api/completion_request.hpp"
#include "sluice/api/sse.hpp"
#include "sluice/api/stop_matcher.hpp"
#include "sluice/engine/incremental_decoder.hpp"
#include "sluice/util/log.hpp"
#include "sluice/util/utf8.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;
using net::use_awaitable;

struct gen_event {
    bool done = false;
    engine::generated_token token;
    engine::generation_result result;
    std::string error;
};
using event_channel = net::experimental::concurrent_channel<void(boost::system::error_code, gen_event)>;

std::string random_id(const char* prefix) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = prefix;
    for (int i = 0; i < 24; ++i) id += hex[rng() % 16];
    return id;
}

json::array bytes_of(const std::string& s) {
    json::array a;
    for (unsigned char c : s) a.push_back(c);
    return a;
}

// One token's logprobs entry (chat format).
json::object chat_logprob(const engine::tokenizer& tok, const engine::generated_token& t) {
    const std::string& piece = tok.piece(t.id);
    json::array top;
    for (const auto& alt : t.top) {
        const std::string& p = tok.piece(alt.id);
        top.push_back(json::object{{"token", utf8::sanitize(p)}, {"logprob", alt.logprob}, {"bytes", bytes_of(p)}});
    }
    return {{"token", utf8::sanitize(piece)}, {"logprob", t.logprob}, {"bytes", bytes_of(piece)}, {"top_logprobs", std::move(top)}};
}

// Legacy completions logprobs for a run of tokens.
json::object legacy_logprobs(const engine::tokenizer& tok, const std::vector<engine::generated_token>& ts, std::size_t offset) {
    json::array tokens, lps, tops, offsets;
    for (const auto& t : ts) {
        const std::string piece = utf8::sanitize(tok.piece(t.id));
        tokens.push_back(json::value(piece));
        lps.push_back(t.logprob);
        json::object alt;
        for (const auto& a : t.top) alt[utf8::sanitize(tok.piece(a.id))] = a.logprob;
        tops.push_back(std::move(alt));
        offsets.push_back(offset);
        offset += piece.size();
    }
    return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

std::string sse(const json::value& v) { return api::sse_frame(v); }

net::awaitable<void> write_chunk(beast::tcp_stream& stream, const std::string& data) {
    co_await net::async_write(stream, bhttp::make_chunk(net::buffer(data)), use_awaitable);
}

// Watches the socket while a generation runs, so that a client which goes away cancels
// its job even when nothing is being written to it (a non-stream request, or stream text
// held back by a stop string). A readiness report is confirmed with a non-blocking peek:
// end-of-file or an error means the peer closed or reset the connection; bytes mean a
// pipelined request (the watch ends); nothing means the report was stale (the reactor can
// deliver a readiness event whose bytes an earlier read already took), so it waits again.
// Completions run on the connection's strand; once the handler is finished (destructor)
// they touch nothing but the shared state.
class disconnect_watch {
public:
    disconnect_watch(beast::tcp_stream& stream, const net::any_io_executor& strand, std::shared_ptr<std::atomic<bool>> cancelled)
        : state_(std::make_shared<state>(state{stream.socket(), strand, std::move(cancelled), false})) {
        arm(state_);
    }
    disconnect_watch(const disconnect_watch&) = delete;
    disconnect_watch& operator=(const disconnect_watch&) = delete;
    ~disconnect_watch() {
        state_->finished = true;
        boost::system::error_code ec;
        state_->socket.cancel(ec);  // only the wait is outstanding on the socket here
    }

private:
    struct state {
        net::ip::tcp::socket& socket;
        net::any_io_executor strand;
        std::shared_ptr<std::atomic<bool>> cancelled;
        bool finished;
    };

    static void arm(const std::shared_ptr<state>& st) {
        st->socket.async_wait(net::socket_base::wait_read, net::bind_executor(st->strand, [st](boost::system::error_code ec) {
            if (ec || st->finished) return;
            char byte;
            const auto n = ::recv(st->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                st->cancelled->store(true);
            } else if (n < 0) {
                arm(st);  // stale readiness: nothing to read, the peer is still there
            }
        }));
    }

    std::shared_ptr<state> state_;
};

[[noreturn]] void context_exceeded(std::size_t n_ctx, const std::string& what, const char* field) {
    throw api::invalid_request("This model's maximum context length is " + std::to_string(n_ctx) + " tokens. However, " + what + ".", field,
                               "context_length_exceeded");
}

// A text of this many bytes has at least bytes / max_token_length tokens: a cheap bound
// that refuses what can never fit before any tokenizing.
void check_text_size(const engine::tokenizer& tok, std::size_t bytes, std::size_t n_ctx, const char* field) {
    const std::size_t longest = std::max<std::size_t>(1, tok.get_vocab().max_token_length());
    if (bytes / longest > n_ctx) {
        context_exceeded(n_ctx, "the " + std::string(field) + " hold " + std::to_string(bytes) + " bytes, more than " +
                                    std::to_string(n_ctx) + " tokens can encode",
                         field);
    }
}

std::vector<engine::token_id> prompt_tokens(server_state& st, const api::completion_request& r) {
    const auto& tok = *st.model.tokenizer;
    const std::size_t n_ctx = st.model.generator->n_ctx();
    if (r.chat) {
        json::object vars = r.template_kwargs;
        vars["messages"] = r.messages;
        vars["add_generation_prompt"] = true;
        chat::render_options opt;
        // Output that could never fit the context stops the rendering early.
        opt.max_output = std::min(opt.max_output, n_ctx * std::max<std::size_t>(1, tok.get_vocab().max_token_length()) + 4096);
        std::string text;
        try {
            text = st.model.chat->render(vars, opt);
        } catch (const chat::template_output_too_large&) {
            context_exceeded(n_ctx, "the rendered messages are longer than " + std::to_string(opt.max_output) + " bytes", "messages");
        } catch (const chat::template_error& e) {
            throw api::invalid_request(std::string("The model's chat template rejected these messages: ") + e.what(), "messages");
        }
        check_text_size(tok, text.size(), n_ctx, "messages");
        return tok.tokenize(text, true, true);
    }
    if (!r.prompt_ids.empty()) {
        for (std::size_t i = 0; i < r.prompt_ids.size(); ++i) {
            if (!tok.get_vocab().contains(r.prompt_ids[i])) {
                throw api::invalid_request("'prompt[" + std::to_string(i) + "]' is not a token id of this model", "prompt");
            }
        }
        return r.prompt_ids;
    }
    check_text_size(tok, r.prompt.size(), n_ctx, "prompt");
    return tok.tokenize(r.prompt, true, true);
}

// Names unknown request fields in the log and in the x-sluice-ignored-fields header.
void report_ignored(exchange& ex, const std::vector<std::string>& fields) {
    if (fields.empty()) return;
    for (const auto& f : fields) {
        if (!ex.ignored_fields.empty()) ex.ignored_fields += ", ";
        ex.ignored_fields += f;
    }
    log::info("ignored unknown request fields: " + ex.ignored_fields);
}

}  // namespace

net::awaitable<void> handle_completion(server_state& st, exchange& ex, bool chat) {
    const auto arrived = std::chrono::steady_clock::now();
    const api::parse_options popt{st.config.strict_fields};
    auto r = chat ? api::parse_chat_request(ex.req.body(), popt) : api::parse_completion_request(ex.req.body(), popt);
    report_ignored(ex, r.ignored_fields);
    const auto& tok = *st.model.tokenizer;
    const auto prompt = prompt_tokens(st, r);
    // A sequence holds at most the context, and at most what the KV memory can hold.
    const std::size_t n_ctx = st.model.generator->max_sequence();
    const char* prompt_field = chat ? "messages" : "prompt";
    if (prompt.empty()) throw api::invalid_request("The prompt is empty.", prompt_field);
    if (prompt.size() + static_cast<std::size_t>(r.max_tokens.value_or(1)) > n_ctx) {
        context_exceeded(n_ctx, "you requested " + std::to_string(prompt.size() + static_cast<std::size_t>(r.max_tokens.value_or(1))) +
                                    " tokens (" + std::to_string(prompt.size()) + " in the " + prompt_field + ", " +
                                    std::to_string(r.max_tokens.value_or(1)) + " in the completion)",
                         prompt_field);
    }
    for (const auto& [id, bias] : r.sampling.logit_bias) {
        if (!tok.get_vocab().contains(id)) throw api::invalid_request("'logit_bias' names token " + std::to_string(id) + ", which this model does not have", "logit_bias");
    }
    if (!r.seeded) r.sampling.seed = std::random_device{}() * 0x9E3779B97F4A7C15ull ^ std::random_device{}();

    const std::size_t max_tokens = r.max_tokens ? static_cast<std::size_t>(*r.max_tokens) : n_ctx - prompt.size();
    auto ch = std::make_shared<event_channel>(co_await net::this_coro::executor, max_tokens + 8);
    engine::generation_job job;
    job.request.prompt = prompt;
    job.request.max_tokens = static_cast<int>(max_tokens);
    job.request.sampling = r.sampling;
    job.request.ignore_eos = r.ignore_eos;
    job.request.grammar = st.grammars.get(r.constraint);
    job.request.logprobs = r.top_logprobs >= 0;
    job.request.top_logprobs = static_cast<std::size_t>(std::max(0, r.top_logprobs));
    job.on_token = [ch](const engine::generated_token& t) {
        ch->try_send(boost::system::error_code{}, gen_event{false, t, {}, {}});
        return true;
    };
    job.on_done = [ch](const engine::generation_result& res, const std::string& err) {
        ch->try_send(boost::system::error_code{}, gen_event{true, {}, res, err});
    };
    const auto cancelled = job.cancelled;
    switch (st.model.generator->submit(std::move(job))) {
        case engine::scheduler::admission::accepted: break;
        case engine::scheduler::admission::queue_full: {
            const auto& cfg = st.model.generator->config();
            throw api::unavailable("The server is at capacity (" + std::to_string(cfg.parallel) + " requests generating, " +
                                   std::to_string(cfg.queue_size) + " waiting). Retry shortly.");
        }
        case engine::scheduler::admission::too_large:
            context_exceeded(n_ctx, "this request's prompt and max_tokens can never fit the server's KV memory", prompt_field);
    }
    st.metrics.add_prompt_tokens(prompt.size());
    struct cancel_on_exit {
        std::shared_ptr<std::atomic<bool>> flag;
        ~cancel_on_exit() { flag->store(true); }  // the engine stops within one token when we leave early
    } cancel_guard{cancelled};
    const disconnect_watch watch(ex.stream, co_await net::this_coro::executor, cancelled);

    const std::string id = random_id(chat ? "chatcmpl-" : "cmpl-");
    const std::int64_t created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string object = chat ? "chat.completion" : "text_completion";
    engine::incremental_decoder decoder(tok);
    api::stop_matcher stops(r.stop);
    std::string text;
    std::vector<engine::generated_token> generated, pending_lp;
    std::string finish = "length";

    auto chunk_json = [&](const std::string& content, const char* finish_reason, bool first) {
        json::object choice{{"index", 0}};
        if (chat) {
            json::object delta;
            if (first) delta["role"] = "assistant";
            if (!content.empty() || (first && finish_reason == nullptr)) delta["content"] = content;
            choice["delta"] = std::move(delta);
        } else {
            choice["text"] = content;
        }
        if (r.top_logprobs >= 0 && !pending_lp.empty()) {
            if (chat) {
                json::array entries;
                for (const auto& t : pending_lp) entries.push_back(chat_logprob(tok, t));
                choice["logprobs"] = json::object{{"content", std::move(entries)}};
            } else {
                choice["logprobs"] = legacy_logprobs(tok, pending_lp, text.size() - content.size());
            }
            pending_lp.clear();
        } else {
            choice["logprobs"] = nullptr;
        }
        choice["finish_reason"] = finish_reason ? json::value(finish_reason) : json::value(nullptr);
        return json::object{{"id", id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", created},
                            {"model", st.model.id}, {"choices", json::array{std::move(choice)}}};
    };
    std::size_t cached_tokens = 0;
    auto usage = [&] {
        return json::object{{"prompt_tokens", prompt.size()}, {"completion_tokens", generated.size()},
                            {"total_tokens", prompt.size() + generated.size()},
                            {"prompt_tokens_details", json::object{{"cached_tokens", cached_tokens}}}};
    };

    std::optional<bhttp::response<bhttp::empty_body>> head;
    std::optional<bhttp::response_serializer<bhttp::empty_body>> serializer;
    if (r.stream) {
        head.emplace(bhttp::status::ok, ex.req.version());
        head->set(bhttp::field::content_type, "text/event-stream");
        head->set(bhttp::field::cache_control, "no-cache");
        head->set(bhttp::field::server, "sluice");
        add_exchange_headers(ex, *head);
        head->chunked(true);
        head->keep_alive(ex.req.keep_alive());
        serializer.emplace(*head);
        co_await bhttp::async_write_header(ex.stream, *serializer, use_awaitable);
        if (chat) {
            const std::string frame = sse(chunk_json("", nullptr, true));
            co_await write_chunk(ex.stream, frame);
        }
    }

    std::string error;
    std::chrono::steady_clock::time_point last_token_at;
    for (;;) {
        auto [ec, ev] = co_await ch->async_receive(net::as_tuple(use_awaitable));
        if (ec) break;
        std::string piece;
        if (!ev.done) {
            // After a stop string the answer is complete; tokens the engine made before it saw
            // the cancel are dropped, and the loop waits for the result (its cached_tokens).
            if (stops.stopped()) continue;
            const auto now = std::chrono::steady_clock::now();
            if (generated.empty()) {
                st.metrics.observe_ttft(std::chrono::duration<double>(now - arrived).count());
            } else {
                st.metrics.observe_itl(std::chrono::duration<double>(now - last_token_at).count());
            }
            last_token_at = now;
            st.metrics.add_generated_tokens(1);
            generated.push_back(ev.token);
            if (r.top_logprobs >= 0) pending_lp.push_back(ev.token);
            piece = stops.push(decoder.push(ev.token.id));
        } else {
            cached_tokens = ev.result.cached_tokens;
            if (stops.stopped()) break;
            error = ev.error;
            if (error.empty()) {
                finish = ev.result.finish == engine::finish_reason::stop ? "stop" : "length";
                piece = stops.push(decoder.flush());
                piece += stops.flush();
            }
        }
        if (stops.stopped()) {
            finish = "stop";
            cancelled->store(true);
        }
        text += piece;
        if (r.stream && !piece.empty()) {
            const std::string frame = sse(chunk_json(piece, nullptr, false));
            co_await write_chunk(ex.stream, frame);
        }
        if (ev.done) break;
    }

    if (!error.empty()) {
        log::error("generation failed: " + error);
        if (!r.stream) throw api::internal_error();
        const std::string frame = sse(json::parse(api::internal_error().body()));
        co_await write_chunk(ex.stream, frame);
    } else if (r.stream) {
        const std::string last = sse(chunk_json("", finish.c_str(), false));
        co_await write_chunk(ex.stream, last);
        if (r.include_usage) {
            json::object u{{"id", id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", created},
                           {"model", st.model.id}, {"choices", json::array{}}, {"usage", usage()}};
            const std::string frame = sse(u);
            co_await write_chunk(ex.stream, frame);
        }
    }
    if (r.stream) {
        const std::string done = api::sse_done;
        co_await write_chunk(ex.stream, done);
        co_await net::async_write(ex.stream, bhttp::make_chunk_last(), use_awaitable);
        co_return;
    }

    json::object choice{{"index", 0}, {"finish_reason", finish}};
    if (chat) {
        choice["message"] = json::object{{"role", "assistant"}, {"content", text}};
    } else {
        choice["text"] = text;
    }
    if (r.top_logprobs >= 0) {
        if (chat) {
            json::array entries;
            for (const auto& t : generated) entries.push_back(chat_logprob(tok, t));
            choice["logprobs"] = json::object{{"content", std::move(entries)}};
        } else {
            choice["logprobs"] = legacy_logprobs(tok, generated, 0);
        }
    } else {
        choice["logprobs"] = nullptr;
    }
    auto res = json_response(ex, 200, [&] {
        json::object body{{"id", id}, {"object", object}, {"created", created}, {"model", st.model.id},
                          {"choices", json::array{std::move(choice)}}, {"usage", usage()}};
        return json::serialize(body);
    }());
    res.keep_alive(ex.req.keep_alive());
    res.prepare_payload();
    co_await bhttp::async_write(ex.stream, res, use_awaitable);
}

}  // namespace sluice::http::detail
