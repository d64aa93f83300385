// The OpenAI encoders of the generation pipeline's events: chat completions and legacy
// completions, as one JSON body or as SSE chunks (`data: {...}\n\n`, then `data: [DONE]`).
// Both modes see the same events, so they produce the same text: content as `content`,
// reasoning as `reasoning_content`, tool calls as `tool_calls` (streamed: the first delta of a
// call carries index, id, type and name; later ones argument fragments).
#pragma once

#include <boost/json.hpp>
#include <optional>

#include "event_stream.hpp"
#include "generation_pipeline.hpp"

namespace sluice::http::detail {

struct openai_options {
    bool chat = true;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    bool logprobs = false;       // report logprobs (top_logprobs alternatives come with the tokens)
    bool legacy_functions = false;  // `functions` request: message.function_call / finish_reason "function_call"
};

class openai_encoder final : public event_sink {
public:
    openai_encoder(server_state& st, exchange& ex, openai_options opt);

    net::awaitable<void> begin() override;
    net::awaitable<void> output(std::span<const tools::parse_event> events, const engine::generated_token* token) override;
    net::awaitable<void> finish(const generation_outcome& outcome) override;
    net::awaitable<void> fail(const std::string& error) override;

private:
    boost::json::object envelope(boost::json::array choices) const;
    boost::json::value logprobs_of(const std::vector<engine::generated_token>& tokens, std::size_t text_offset) const;
    boost::json::object chunk(boost::json::object delta, std::string_view text, const char* finish_reason);
    boost::json::object delta_of(const tools::parse_event& e);
    // Frames are named locals at every call: GCC 12 destroys some non-trivial temporaries
    // inside co_await expressions twice.
    net::awaitable<void> write_frame(const boost::json::object& v);
    net::awaitable<void> end_stream();

    server_state& st_;
    exchange& ex_;
    openai_options opt_;
    std::string id_;
    std::int64_t created_;
    std::string text_;                               // content sent (stream) or to send
    std::string reasoning_;                          // reasoning_content, likewise
    boost::json::array calls_;                       // tool_calls: {id, type, function: {name, arguments}}
    std::vector<engine::generated_token> tokens_;    // non-stream: every token, for logprobs
    std::vector<engine::generated_token> pending_;   // stream: tokens whose logprobs are not sent yet
    event_stream out_;
};

}  // namespace sluice::http::detail
