// The Anthropic Messages encoder of the generation pipeline's events: one message object
// ({id: "msg_…", type: "message", role, content: [thinking | text | tool_use blocks], model,
// stop_reason, stop_sequence, usage}) or its stream in the official event grammar:
//   message_start, ping, then per block content_block_start / content_block_delta
//   (text_delta, thinking_delta + signature_delta, input_json_delta) / content_block_stop,
//   then message_delta (stop_reason, stop_sequence, usage) and message_stop;
//   an `error` event when the engine fails after the stream started.
// Both modes see the same events, so they produce the same blocks.
#pragma once

#include <boost/json.hpp>
#include <optional>

#include "event_stream.hpp"
#include "generation_pipeline.hpp"

namespace sluice::http::detail {

class anthropic_encoder final : public event_sink {
public:
    // `prompt_tokens`: the prompt's length (message_start's usage, before the cache is known).
    anthropic_encoder(server_state& st, exchange& ex, bool stream, std::size_t prompt_tokens);

    net::awaitable<void> begin() override;
    net::awaitable<void> output(std::span<const tools::parse_event> events, const engine::generated_token* token) override;
    net::awaitable<void> finish(const generation_outcome& outcome) override;
    net::awaitable<void> fail(const api::api_error& e) override;
    // `ping` every 2 s while a stream waits for its first token.
    std::chrono::milliseconds keepalive_interval() const override { return std::chrono::milliseconds(stream_ ? 2000 : 0); }
    net::awaitable<void> keepalive() override;

private:
    enum class block_kind { none, text, thinking, tool_use };
    net::awaitable<void> open_block(block_kind kind, boost::json::object start);
    net::awaitable<void> close_block();
    net::awaitable<void> delta(boost::json::object d);
    // Non-trivial temporaries inside co_await expressions are avoided throughout (GCC 12
    // destroys some twice): arguments are named locals.
    net::awaitable<void> send(std::string_view event, const boost::json::object& data);

    server_state& st_;
    exchange& ex_;
    bool stream_;
    std::size_t prompt_tokens_;
    std::string id_;
    boost::json::array blocks_;   // the message's content, as it grows
    std::string args_;            // the open tool_use block's input JSON text
    block_kind open_ = block_kind::none;
    event_stream out_;
};

}  // namespace sluice::http::detail
