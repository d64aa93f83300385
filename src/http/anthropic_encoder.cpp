#include "anthropic_encoder.hpp"

#include <random>

#include "sluice/api/sse.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;
using net::use_awaitable;


// The tool_use block's input: the streamed arguments as an object ({} when they were cut
// off by max_tokens and do not parse).
json::object input_of(const std::string& args) {
    boost::system::error_code ec;
    json::value v = json::parse(args, ec);
    if (!ec && v.is_object()) return std::move(v.as_object());
    return {};
}

}  // namespace

anthropic_encoder::anthropic_encoder(server_state& st, exchange& ex, bool stream, std::size_t prompt_tokens)
    : st_(st), ex_(ex), stream_(stream), prompt_tokens_(prompt_tokens), id_(random_id("msg_")), out_(ex) {}

net::awaitable<void> anthropic_encoder::send(std::string_view event, const json::object& data) {
    if (!stream_) co_return;
    const std::string frame = api::sse_event(event, data);
    co_await out_.write(frame);
}

net::awaitable<void> anthropic_encoder::begin() {
    if (!stream_) co_return;
    co_await out_.start();
    json::object message{{"id", id_}, {"type", "message"}, {"role", "assistant"}, {"content", json::array()}, {"model", st_.model.id}};
    message["stop_reason"] = nullptr;
    message["stop_sequence"] = nullptr;
    message["usage"] = json::object{{"input_tokens", prompt_tokens_}, {"output_tokens", 0}, {"cache_read_input_tokens", 0},
                                    {"cache_creation_input_tokens", 0}};
    json::object start;
    start["type"] = "message_start";
    start["message"] = std::move(message);
    co_await send("message_start", start);
    json::object ping;
    ping["type"] = "ping";
    co_await send("ping", ping);
}

net::awaitable<void> anthropic_encoder::keepalive() {
    json::object ping;
    ping["type"] = "ping";
    co_await send("ping", ping);
}

net::awaitable<void> anthropic_encoder::open_block(block_kind kind, json::object start) {
    open_ = kind;
    blocks_.push_back(start);
    json::object ev;
    ev["type"] = "content_block_start";
    ev["index"] = blocks_.size() - 1;
    ev["content_block"] = std::move(start);
    co_await send("content_block_start", ev);
}

net::awaitable<void> anthropic_encoder::close_block() {
    if (open_ == block_kind::none) co_return;
    auto& block = blocks_.back().as_object();
    if (open_ == block_kind::thinking) {
        // Local reasoning carries no signature; the field is there for clients that expect it.
        json::object sig;
        sig["type"] = "signature_delta";
        sig["signature"] = "";
        co_await delta(std::move(sig));
    } else if (open_ == block_kind::tool_use) {
        block["input"] = input_of(args_);
        args_.clear();
    }
    open_ = block_kind::none;
    json::object ev;
    ev["type"] = "content_block_stop";
    ev["index"] = blocks_.size() - 1;
    co_await send("content_block_stop", ev);
}

net::awaitable<void> anthropic_encoder::delta(json::object d) {
    json::object ev;
    ev["type"] = "content_block_delta";
    ev["index"] = blocks_.size() - 1;
    ev["delta"] = std::move(d);
    co_await send("content_block_delta", ev);
}

net::awaitable<void> anthropic_encoder::output(std::span<const tools::parse_event> events, const engine::generated_token*) {
    using kind = tools::parse_event::kind;
    for (const auto& e : events) {
        switch (e.type) {
            case kind::content: {
                if (e.text.empty()) break;
                if (open_ != block_kind::text) {
                    co_await close_block();
                    json::object b;
                    b["type"] = "text";
                    b["text"] = "";
                    co_await open_block(block_kind::text, std::move(b));
                }
                auto& text = blocks_.back().as_object()["text"].as_string();
                text.append(e.text);
                json::object d;
                d["type"] = "text_delta";
                d["text"] = e.text;
                co_await delta(std::move(d));
                break;
            }
            case kind::reasoning: {
                if (e.text.empty()) break;
                if (open_ != block_kind::thinking) {
                    co_await close_block();
                    json::object b;
                    b["type"] = "thinking";
                    b["thinking"] = "";
                    b["signature"] = "";
                    co_await open_block(block_kind::thinking, std::move(b));
                }
                blocks_.back().as_object()["thinking"].as_string().append(e.text);
                json::object d;
                d["type"] = "thinking_delta";
                d["thinking"] = e.text;
                co_await delta(std::move(d));
                break;
            }
            case kind::call_begin: {
                co_await close_block();
                json::object b;
                b["type"] = "tool_use";
                b["id"] = e.id.empty() ? random_id("toolu_") : e.id;
                b["name"] = e.name;
                b["input"] = json::object();
                co_await open_block(block_kind::tool_use, std::move(b));
                break;
            }
            case kind::call_arguments: {
                if (open_ != block_kind::tool_use || e.text.empty()) break;
                args_ += e.text;
                json::object d;
                d["type"] = "input_json_delta";
                d["partial_json"] = e.text;
                co_await delta(std::move(d));
                break;
            }
            case kind::call_end: co_await close_block(); break;
        }
    }
}

net::awaitable<void> anthropic_encoder::finish(const generation_outcome& outcome) {
    co_await close_block();
    const char* reason = "end_turn";
    switch (outcome.finish) {
        case finish_kind::tool_calls: reason = "tool_use"; break;
        case finish_kind::length: reason = "max_tokens"; break;
        case finish_kind::stop: reason = outcome.stop_sequence.empty() ? "end_turn" : "stop_sequence"; break;
    }
    const json::value stop_sequence = outcome.stop_sequence.empty() || outcome.finish != finish_kind::stop ? json::value(nullptr)
                                                                                                           : json::value(outcome.stop_sequence);
    const auto& u = outcome.usage;
    json::object usage{{"input_tokens", u.prompt_tokens - u.cached_tokens}, {"output_tokens", u.completion_tokens},
                       {"cache_read_input_tokens", u.cached_tokens}, {"cache_creation_input_tokens", 0}};
    if (stream_) {
        json::object d;
        d["stop_reason"] = reason;
        d["stop_sequence"] = stop_sequence;
        json::object ev;
        ev["type"] = "message_delta";
        ev["delta"] = std::move(d);
        ev["usage"] = std::move(usage);
        co_await send("message_delta", ev);
        json::object stop;
        stop["type"] = "message_stop";
        co_await send("message_stop", stop);
        co_await out_.end();
        co_return;
    }
    json::object message{{"id", id_}, {"type", "message"}, {"role", "assistant"}, {"model", st_.model.id}};
    message["content"] = blocks_;
    message["stop_reason"] = reason;
    message["stop_sequence"] = stop_sequence;
    message["usage"] = std::move(usage);
    co_await write_json_reply(ex_, json::serialize(message));
}

net::awaitable<void> anthropic_encoder::fail(const api::api_error& e) {
    if (!stream_ || !out_.started()) throw e;
    const json::object body = json::parse(e.anthropic_body(ex_.record.id)).as_object();
    co_await send("error", body);
    co_await out_.end();
}

}  // namespace sluice::http::detail
