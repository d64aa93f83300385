// The generation pipeline: submit, relay tokens, decode, apply stop strings, cancel when
// the client leaves. See generation_pipeline.hpp.
#include "generation_pipeline.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <cerrno>
#include <chrono>
#include <optional>

#include <sys/socket.h>

#include "sluice/api/stop_matcher.hpp"
#include "event_stream.hpp"
#include "sluice/engine/incremental_decoder.hpp"
#include "sluice/util/log.hpp"

namespace sluice::http::detail {
namespace {

using net::use_awaitable;
using namespace net::experimental::awaitable_operators;

struct gen_event {
    std::size_t choice = 0;
    bool done = false;
    engine::generated_token token;
    engine::generation_result result;
    std::string error;
    std::optional<std::vector<engine::generated_token>> prompt;  // prompt logprobs (echo)
};
using event_channel = net::experimental::concurrent_channel<void(boost::system::error_code, gen_event)>;

// Watches the socket while a generation runs, so that a client which goes away cancels
// its job even when nothing is being written to it (a non-stream request, or stream text
// held back by a stop string). A readiness report is confirmed with a non-blocking peek:
// end-of-file or an error means the peer closed or reset the connection; bytes mean a
// pipelined request (the watch ends); nothing means the report was stale (the reactor can
// deliver a readiness event whose bytes an earlier read already took), so it waits again.
// Completions run on the connection's strand; once the pipeline is finished (destructor)
// they touch nothing but the shared state. With TLS the peek sees the encrypted bytes,
// which is all it needs: whether the peer closed, sent something, or neither. (A TLS
// client that closes politely sends close_notify first: those bytes end the watch like a
// pipelined request would, and its departure is noticed at the next write instead.)
class disconnect_watch {
public:
    using flags = std::vector<std::shared_ptr<std::atomic<bool>>>;
    disconnect_watch(net::ip::tcp::socket& socket, const net::any_io_executor& strand, flags cancelled)
        : state_(std::make_shared<state>(state{socket, strand, std::move(cancelled), false, false})) {
        arm(state_);
    }
    // The watch saw the peer close or reset the connection (and cancelled the jobs).
    bool client_gone() const noexcept { return state_->gone; }
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
        flags cancelled;  // one per job
        bool finished;
        bool gone;
    };

    static void arm(const std::shared_ptr<state>& st) {
        st->socket.async_wait(net::socket_base::wait_read, net::bind_executor(st->strand, [st](boost::system::error_code ec) {
            if (ec || st->finished) return;
            char byte;
            const auto n = ::recv(st->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                st->gone = true;
                for (const auto& f : st->cancelled) f->store(true);
            } else if (n < 0) {
                arm(st);  // stale readiness: nothing to read, the peer is still there
            }
        }));
    }

    std::shared_ptr<state> state_;
};

// Tokens waiting for the client at most (all choices together). A stream whose client reads
// slower than the engine produces (its writes wait on full socket buffers) is cancelled when
// this many are waiting, so it stops holding KV blocks and compute while the write deadline
// runs out; non-stream requests consume tokens as they come and never get near it.
constexpr std::size_t k_max_waiting_tokens = 1024;

// The tokens sent to the pipeline and not yet taken; `lagged` once the bound was hit.
struct backlog {
    std::atomic<std::size_t> waiting{0};
    std::atomic<bool> lagged{false};
};

struct cancel_on_exit {
    std::vector<std::shared_ptr<std::atomic<bool>>> flags;
    ~cancel_on_exit() {  // the engine stops within one token when we leave early
        for (const auto& f : flags) f->store(true);
    }
};

// One choice's way from tokens to events: its own decoder, stop strings and parser.
struct choice_run {
    choice_run(const engine::tokenizer& tok, const generation_plan& plan, std::shared_ptr<std::atomic<bool>> flag)
        : cancelled(std::move(flag)), decoder(tok), stops(plan.stop), parser(plan.make_parser ? plan.make_parser() : nullptr) {
        decoder.show_controls(plan.shown_controls);
    }
    std::shared_ptr<std::atomic<bool>> cancelled;
    engine::incremental_decoder decoder;
    api::stop_matcher stops;
    std::unique_ptr<tools::output_parser> parser;
    generation_usage usage;  // completion, reasoning and cached tokens
    finish_kind finish = finish_kind::length;
    bool any_call = false, in_reasoning = false, done = false;
    std::vector<tools::parse_event> events, held;

    // Text -> events: through the parser when there is one, else all of it is content.
    // At a max_tokens cut, text the parser still holds is an unfinished marker or call start
    // (say `<tool_call>\n{"na`): it is dropped, not released as content.
    void parse(const std::string& text, bool last) {
        events.clear();
        if (parser) {
            if (!text.empty()) parser->push(text, events);
            if (last) {
                held.clear();
                parser->finish(held);
                for (auto& e : held) {
                    if (finish != finish_kind::length || e.type != tools::parse_event::kind::content) events.push_back(std::move(e));
                }
            }
        } else if (!text.empty()) {
            tools::parse_event e;
            e.text = text;
            events.push_back(std::move(e));
        }
        for (const auto& e : events) {
            if (e.type == tools::parse_event::kind::call_begin) any_call = true;
            if (e.type == tools::parse_event::kind::reasoning) in_reasoning = true;
            if (e.type == tools::parse_event::kind::content || e.type == tools::parse_event::kind::call_begin) in_reasoning = false;
        }
    }
};

}  // namespace

namespace {
net::awaitable<void> relay(server_state& st, const generation_plan& plan, event_sink& sink, const std::shared_ptr<event_channel>& ch,
                           const std::vector<std::shared_ptr<std::atomic<bool>>>& flags, std::chrono::steady_clock::time_point arrived,
                           backlog& lag, request_record& record);
}  // namespace

net::awaitable<void> run_generation(server_state& st, exchange& ex, generation_plan plan, event_sink& sink) {
    const auto arrived = std::chrono::steady_clock::now();
    const std::size_t n_prompt = plan.request.prompt.size();
    const std::size_t n_choices = std::max<std::size_t>(1, plan.n);
    // Room for every waiting token, each choice's done event and the prompt's logprobs.
    auto ch = std::make_shared<event_channel>(co_await net::this_coro::executor, k_max_waiting_tokens + n_choices + 2);
    auto lag = std::make_shared<backlog>();
    std::vector<std::shared_ptr<std::atomic<bool>>> flags;
    for (std::size_t i = 0; i < n_choices; ++i) {
        engine::generation_job job;
        job.request = plan.request;
        job.request.sampling.seed += i;
        if (i > 0) job.request.prompt_logprobs.reset();  // the prompt's logprobs come once
        job.on_token = [ch, i, lag](const engine::generated_token& t) {
            if (lag->waiting.fetch_add(1) >= k_max_waiting_tokens) {
                lag->waiting.fetch_sub(1);
                lag->lagged.store(true);
                return false;  // ends the job (cancelled)
            }
            gen_event ev;
            ev.choice = i;
            ev.token = t;
            ch->try_send(boost::system::error_code{}, std::move(ev));
            return true;
        };
        job.on_done = [ch, i](const engine::generation_result& res, const std::string& err) {
            gen_event ev;
            ev.choice = i;
            ev.done = true;
            ev.result = res;
            ev.error = err;
            ch->try_send(boost::system::error_code{}, std::move(ev));
        };
        if (job.request.prompt_logprobs) {
            job.on_prompt = [ch](std::vector<engine::generated_token> lp) {
                gen_event ev;
                ev.prompt = std::move(lp);
                ch->try_send(boost::system::error_code{}, std::move(ev));
            };
        }
        const auto flag = job.cancelled;
        const auto admitted = st.model.generator->submit(std::move(job));
        if (admitted == engine::scheduler::admission::accepted) {
            flags.push_back(flag);
            st.track_generation(flag);
            continue;
        }
        for (const auto& f : flags) f->store(true);  // the choices already accepted go too
        if (admitted == engine::scheduler::admission::queue_full) {
            const auto& cfg = st.model.generator->config();
            throw api::unavailable("The server is at capacity (" + std::to_string(cfg.parallel) + " requests generating, " +
                                   std::to_string(cfg.queue_size) + " waiting). Retry shortly.");
        }
        if (admitted == engine::scheduler::admission::invalid_token) {  // the HTTP layer checks ids first; this is the backstop
            throw api::invalid_request("The prompt contains a token id outside the model's vocabulary.", plan.prompt_field, "invalid_token");
        }
        throw api::invalid_request("This model's maximum context length is " + std::to_string(st.model.generator->max_sequence()) +
                                       " tokens. However, this request's prompt and max_tokens can never fit the server's KV memory.",
                                   plan.prompt_field, "context_length_exceeded");
    }
    st.metrics.add_prompt_tokens(n_prompt);
    ex.record.has_usage = true;
    ex.record.prompt_tokens = n_prompt;
    const cancel_on_exit cancel_guard{flags};
    const disconnect_watch watch(ex.stream.socket(), co_await net::this_coro::executor, flags);

    // A failed write: the deadline ran out (the client stopped reading) or the peer went away.
    const auto note_write_failure = [&](const boost::system::system_error& e) {
        if (!ex.record.cancel_reason.empty()) return;
        ex.record.cancel_reason =
            !watch.client_gone() && e.code() == beast::error::timeout ? cancel_reason::write_timeout : cancel_reason::client_gone;
    };
    try {
        co_await sink.begin();
    } catch (const boost::system::system_error& e) {
        note_write_failure(e);
        throw;
    }
    // After begin() a failure must end the output in the protocol's own format: what relay()
    // throws (other than a failed write: the client is gone) goes to the sink's fail().
    std::optional<api::api_error> late;
    try {
        co_await relay(st, plan, sink, ch, flags, arrived, *lag, ex.record);
        if (watch.client_gone()) ex.record.cancel_reason = cancel_reason::client_gone;
    } catch (const boost::system::system_error& e) {
        note_write_failure(e);
        throw;
    } catch (const api::api_error& e) {
        late = e;
    } catch (const std::exception& e) {
        log::error(std::string("internal error while streaming: ") + e.what());
        late = api::internal_error();
    }
    if (late) co_await sink.fail(*late);
}

namespace {

net::awaitable<void> relay(server_state& st, const generation_plan& plan, event_sink& sink, const std::shared_ptr<event_channel>& ch,
                           const std::vector<std::shared_ptr<std::atomic<bool>>>& flags, std::chrono::steady_clock::time_point arrived,
                           backlog& lag, request_record& record) {
    const std::size_t n_prompt = plan.request.prompt.size();
    const std::size_t n_choices = flags.size();
    std::vector<std::unique_ptr<choice_run>> runs;
    for (std::size_t i = 0; i < n_choices; ++i) runs.push_back(std::make_unique<choice_run>(*st.model.tokenizer, plan, flags[i]));
    std::size_t tokens_seen = 0, running = n_choices;
    std::string error;
    bool cut_off = false;  // cancelled by a drain that ran out of time
    std::chrono::steady_clock::time_point last_token_at;
    while (running > 0) {
        boost::system::error_code ec;
        gen_event ev;
        if (tokens_seen == 0 && sink.keepalive_interval().count() > 0) {
            // Before the first token (a long prompt being prefilled): a keep-alive event when
            // nothing came for an interval, so clients and proxies see the stream is alive.
            net::steady_timer timer(co_await net::this_coro::executor, sink.keepalive_interval());
            auto first = co_await (ch->async_receive(net::as_tuple(use_awaitable)) || timer.async_wait(net::as_tuple(use_awaitable)));
            if (first.index() == 1) {
                co_await sink.keepalive();
                continue;
            }
            std::tie(ec, ev) = std::move(std::get<0>(first));
        } else {
            std::tie(ec, ev) = co_await ch->async_receive(net::as_tuple(use_awaitable));
        }
        if (ec) break;
        if (ev.prompt) {
            co_await sink.prompt_logprobs(std::move(*ev.prompt));
            continue;
        }
        choice_run& c = *runs[ev.choice];
        if (!ev.done) lag.waiting.fetch_sub(1);
        if (!ev.done) {
            // After a stop string the answer is complete; tokens the engine made before it saw
            // the cancel are dropped, and the loop waits for the result (its cached_tokens).
            if (c.done || c.stops.stopped()) continue;
            const auto now = std::chrono::steady_clock::now();
            if (tokens_seen == 0) {
                st.metrics.observe_ttft(std::chrono::duration<double>(now - arrived).count());
                record.ttft_ms = std::chrono::duration<double, std::milli>(now - record.started).count();
            } else {
                st.metrics.observe_itl(std::chrono::duration<double>(now - last_token_at).count());
            }
            last_token_at = now;
            ++tokens_seen;
            record.completion_tokens = tokens_seen;
            st.metrics.add_generated_tokens(1);
            ++c.usage.completion_tokens;
            const std::string piece = c.stops.push(c.decoder.push(ev.token.id));
            if (c.stops.stopped()) {
                c.finish = finish_kind::stop;
                c.cancelled->store(true);
            }
            c.parse(piece, false);
            // A token counts as reasoning when the output is inside the reasoning after it.
            if (c.in_reasoning) ++c.usage.reasoning_tokens;
            co_await sink.output_choice(ev.choice, c.events, &ev.token);
            continue;
        }
        if (c.done) continue;
        c.done = true;
        --running;
        c.usage.cached_tokens = ev.result.cached_tokens;
        record.cached_tokens += ev.result.cached_tokens;
        if (!c.stops.stopped() && !ev.error.empty()) {
            error = ev.error;
            break;
        }
        if (!c.stops.stopped() && ev.result.finish == engine::finish_reason::cancelled && st.cutting_off.load()) {
            record.cancel_reason = cancel_reason::shutdown_timeout;
            cut_off = true;
            break;
        }
        if (!c.stops.stopped() && ev.result.finish == engine::finish_reason::cancelled && lag.lagged.load()) {
            // Not the server's fault: a timeout on the client's side, said so in the stream.
            record.cancel_reason = cancel_reason::backlog;
            log::warn("a client read its stream too slowly; generation cancelled");
            co_await sink.fail(api::stream_backlog(k_max_waiting_tokens));
            co_return;
        }
        std::string tail;  // what the decoder and the stop matcher still hold
        if (!c.stops.stopped()) {
            c.finish = ev.result.finish == engine::finish_reason::stop ? finish_kind::stop : finish_kind::length;
            tail = c.stops.push(c.decoder.flush());
            tail += c.stops.flush();
            if (c.stops.stopped()) c.finish = finish_kind::stop;
        }
        c.parse(tail, true);  // and what the parser holds
        if (!c.events.empty()) co_await sink.output_choice(ev.choice, c.events, nullptr);
        if (c.any_call && c.finish == finish_kind::stop) c.finish = finish_kind::tool_calls;
    }
    if (cut_off) {
        co_await sink.fail(api::unavailable("The server is shutting down: this request was still running when --shutdown-timeout ran out."));
        co_return;
    }
    if (!error.empty()) {
        log::error("generation failed: " + error);
        const api::api_error failure = engine_failure(error);
        co_await sink.fail(failure);
        co_return;
    }
    std::vector<generation_outcome> outcomes;
    for (const auto& c : runs) {
        generation_usage u = c->usage;
        u.prompt_tokens = n_prompt;
        outcomes.push_back(generation_outcome{c->finish, c->stops.matched(), u});
    }
    co_await sink.finish_choices(outcomes);
}

}  // namespace

}  // namespace sluice::http::detail
