// The generation pipeline: submit, relay tokens, decode, apply stop strings, cancel when
// the client leaves. See generation_pipeline.hpp.
#include "generation_pipeline.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <cerrno>
#include <chrono>

#include <sys/socket.h>

#include "sluice/api/stop_matcher.hpp"
#include "sluice/engine/incremental_decoder.hpp"
#include "sluice/util/log.hpp"

namespace sluice::http::detail {
namespace {

using net::use_awaitable;
using namespace net::experimental::awaitable_operators;

struct gen_event {
    bool done = false;
    engine::generated_token token;
    engine::generation_result result;
    std::string error;
};
using event_channel = net::experimental::concurrent_channel<void(boost::system::error_code, gen_event)>;

// Watches the socket while a generation runs, so that a client which goes away cancels
// its job even when nothing is being written to it (a non-stream request, or stream text
// held back by a stop string). A readiness report is confirmed with a non-blocking peek:
// end-of-file or an error means the peer closed or reset the connection; bytes mean a
// pipelined request (the watch ends); nothing means the report was stale (the reactor can
// deliver a readiness event whose bytes an earlier read already took), so it waits again.
// Completions run on the connection's strand; once the pipeline is finished (destructor)
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

struct cancel_on_exit {
    std::shared_ptr<std::atomic<bool>> flag;
    ~cancel_on_exit() { flag->store(true); }  // the engine stops within one token when we leave early
};

}  // namespace

net::awaitable<void> run_generation(server_state& st, exchange& ex, generation_plan plan, event_sink& sink) {
    const auto arrived = std::chrono::steady_clock::now();
    const std::size_t n_prompt = plan.request.prompt.size();
    auto ch = std::make_shared<event_channel>(co_await net::this_coro::executor,
                                              static_cast<std::size_t>(std::max(0, plan.request.max_tokens)) + 8);
    engine::generation_job job;
    job.request = std::move(plan.request);
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
            throw api::invalid_request("This model's maximum context length is " + std::to_string(st.model.generator->max_sequence()) +
                                           " tokens. However, this request's prompt and max_tokens can never fit the server's KV memory.",
                                       plan.prompt_field, "context_length_exceeded");
    }
    st.metrics.add_prompt_tokens(n_prompt);
    const cancel_on_exit cancel_guard{cancelled};
    const disconnect_watch watch(ex.stream, co_await net::this_coro::executor, cancelled);

    co_await sink.begin();
    engine::incremental_decoder decoder(*st.model.tokenizer);
    decoder.show_controls(std::move(plan.shown_controls));
    api::stop_matcher stops(plan.stop);
    generation_usage usage{n_prompt, 0, 0, 0};
    finish_kind finish = finish_kind::length;
    std::string error;
    std::chrono::steady_clock::time_point last_token_at;
    std::vector<tools::parse_event> events;
    bool any_call = false, in_reasoning = false, flushed = false;
    // Text -> events: through the parser when there is one, else all of it is content.
    // At a max_tokens cut, text the parser still holds is an unfinished marker or call start
    // (say `<tool_call>\n{"na`): it is dropped, not released as content.
    std::vector<tools::parse_event> held;
    const auto parse = [&](const std::string& text, bool last) {
        events.clear();
        if (plan.parser) {
            if (!text.empty()) plan.parser->push(text, events);
            if (last) {
                held.clear();
                plan.parser->finish(held);
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
    };
    for (;;) {
        boost::system::error_code ec;
        gen_event ev;
        if (usage.completion_tokens == 0 && sink.keepalive_interval().count() > 0) {
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
        if (!ev.done) {
            // After a stop string the answer is complete; tokens the engine made before it saw
            // the cancel are dropped, and the loop waits for the result (its cached_tokens).
            if (stops.stopped()) continue;
            const auto now = std::chrono::steady_clock::now();
            if (usage.completion_tokens == 0) {
                st.metrics.observe_ttft(std::chrono::duration<double>(now - arrived).count());
            } else {
                st.metrics.observe_itl(std::chrono::duration<double>(now - last_token_at).count());
            }
            last_token_at = now;
            st.metrics.add_generated_tokens(1);
            ++usage.completion_tokens;
            const std::string piece = stops.push(decoder.push(ev.token.id));
            if (stops.stopped()) {
                finish = finish_kind::stop;
                cancelled->store(true);
            }
            parse(piece, false);
            // A token counts as reasoning when the output is inside the reasoning after it.
            if (in_reasoning) ++usage.reasoning_tokens;
            co_await sink.output(events, &ev.token);
            continue;
        }
        usage.cached_tokens = ev.result.cached_tokens;
        if (stops.stopped()) break;
        error = ev.error;
        if (!error.empty()) break;
        finish = ev.result.finish == engine::finish_reason::stop ? finish_kind::stop : finish_kind::length;
        std::string tail = stops.push(decoder.flush());
        tail += stops.flush();
        if (stops.stopped()) finish = finish_kind::stop;
        parse(tail, true);
        flushed = true;
        if (!events.empty()) co_await sink.output(events, nullptr);
        break;
    }
    if (!error.empty()) {
        log::error("generation failed: " + error);
        co_await sink.fail(error);
        co_return;
    }
    if (!flushed) {  // a stop string ended it: release what the parser holds
        parse(std::string(), true);
        if (!events.empty()) co_await sink.output(events, nullptr);
    }
    if (any_call && finish == finish_kind::stop) finish = finish_kind::tool_calls;
    // A named object: GCC 12 mishandles non-trivial temporaries inside a co_await expression.
    const generation_outcome outcome{finish, stops.matched(), usage};
    co_await sink.finish(outcome);
}

}  // namespace sluice::http::detail
