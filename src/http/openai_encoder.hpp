// The OpenAI encoders of the generation pipeline's events: chat completions and legacy
// completions, as one JSON body or as SSE chunks (`data: {...}\n\n`, then `data: [DONE]`).
// Both modes see the same events, so they produce the same text: content as `content`,
// reasoning as `reasoning_content`, tool calls as `tool_calls` (streamed: the first delta of a
// call carries index, id, type and name; later ones argument fragments). With n choices each
// has its own state and `index`; streamed, their chunks interleave as tokens come, and the
// finish chunks come together at the end. Completions' echo puts the prompt first.
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
    std::size_t n = 1;              // choices
    // Completions' echo: the prompt text each choice starts with, and (with logprobs) the
    // prompt tokens reported, i.e. those after any the server added (BOS); prompt_tokens_skipped
    // says how many it added.
    bool echo = false;
    std::string echo_text;
    std::vector<engine::token_id> prompt_tokens;
    std::size_t prompt_tokens_skipped = 0;
};

class openai_encoder final : public event_sink {
public:
    openai_encoder(server_state& st, exchange& ex, openai_options opt);

    net::awaitable<void> begin() override;
    net::awaitable<void> prompt_logprobs(std::vector<engine::generated_token> entries) override;
    net::awaitable<void> output(std::span<const tools::parse_event> events, const engine::generated_token* token) override;
    net::awaitable<void> output_choice(std::size_t choice, std::span<const tools::parse_event> events, const engine::generated_token* token) override;
    net::awaitable<void> finish(const generation_outcome& outcome) override;
    net::awaitable<void> finish_choices(std::span<const generation_outcome> outcomes) override;
    net::awaitable<void> fail(const api::api_error& e) override;

private:
    // One choice's answer so far.
    struct choice_state {
        std::string text;                               // content sent (stream) or to send
        std::string reasoning;                          // reasoning_content, likewise
        boost::json::array calls;                       // tool_calls: {id, type, function: {name, arguments}}
        std::vector<engine::generated_token> tokens;    // non-stream: every token, for logprobs
        std::vector<engine::generated_token> pending;   // stream: tokens whose logprobs are not sent yet
    };
    boost::json::object envelope(boost::json::array choices) const;
    boost::json::value logprobs_of(const std::vector<engine::generated_token>& tokens, std::size_t text_offset) const;
    boost::json::object chunk(std::size_t choice, boost::json::object delta, std::string_view text, const char* finish_reason);
    boost::json::object delta_of(choice_state& c, const tools::parse_event& e);
    boost::json::object usage_of(std::span<const generation_outcome> outcomes) const;
    net::awaitable<void> write_echo();
    // Frames are named locals at every call: GCC 12 destroys some non-trivial temporaries
    // inside co_await expressions twice.
    net::awaitable<void> write_frame(const boost::json::object& v);
    net::awaitable<void> end_stream();

    server_state& st_;
    exchange& ex_;
    openai_options opt_;
    std::string id_;
    std::int64_t created_;
    std::vector<choice_state> choices_;
    std::vector<engine::generated_token> echo_tokens_;  // echo with logprobs: the prompt's tokens
    event_stream out_;
};

}  // namespace sluice::http::detail
