// The one generation pipeline behind every protocol. A protocol adapter decodes its JSON
// into a prepared generation (prompt tokens, engine request, stop strings) and hands the
// pipeline an event_sink, its encoder; the pipeline submits the job, relays the engine's
// tokens through the incremental decoder and the stop-string matcher, and calls the sink
// with protocol-neutral events. No protocol repeats any of this.
//
//   adapter: JSON -> generation_plan      pipeline: submit, watch the client, decode,
//   adapter: events -> JSON body / SSE    stop strings, parse calls and reasoning,
//                                         metrics, cancel on exit
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "connection.hpp"
#include "sluice/engine/generator.hpp"
#include "sluice/tools/output_parser.hpp"

namespace sluice::http::detail {

// What to generate. `prompt_field` names the request field errors point at.
struct generation_plan {
    engine::generation_request request;  // prompt, max_tokens, sampling, grammar, logprobs
    std::vector<std::string> stop;
    std::string prompt_field = "messages";
    // Splits the output into content, reasoning and tool calls (chat), a fresh parser per
    // choice; empty: all text is content.
    std::function<std::unique_ptr<tools::output_parser>()> make_parser;
    // Choices (OpenAI's n): n jobs with seeds seed, seed + 1, ...; the scheduler computes
    // their shared prompt once. Only sinks that override the *_choice calls take n > 1.
    std::size_t n = 1;
    // Control tokens rendered as their text for the parser (the format's call markup).
    std::vector<engine::token_id> shown_controls;
};

struct generation_usage {
    std::size_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
    std::size_t reasoning_tokens = 0;  // completion tokens that went to reasoning
};

// tool_calls: the output ended (not cut off) after at least one tool call.
enum class finish_kind { stop, length, tool_calls };

// How the output ended: why, the stop string that ended it (finish stop; "" when it was
// the end-of-generation token or the grammar's end), and the token counts.
struct generation_outcome {
    finish_kind finish = finish_kind::length;
    std::string stop_sequence;
    generation_usage usage;
};

// A protocol's encoder. Called on the connection's strand, in this order: begin() once the
// job is admitted; prompt_logprobs() when the request asked for them (echo); output() for
// every generated token (`events`: what its text completed, often nothing while UTF-8, a
// possible stop string or a possible call marker is held back; `token`: the token, for
// logprobs) and once more at the end with token == null for what was held back; then
// finish(), or fail() when the engine failed after begin(). A sink that throws (a failed
// write) ends the pipeline, which cancels the job.
//
// With n choices the pipeline calls output_choice() and finish_choices() instead (choices'
// outputs interleave; finish_choices() once every choice ended); their defaults forward
// choice 0 to output() and finish(), which is all a single-choice protocol needs.
class event_sink {
public:
    virtual ~event_sink() = default;
    virtual net::awaitable<void> begin() = 0;
    virtual net::awaitable<void> output(std::span<const tools::parse_event> events, const engine::generated_token* token) = 0;
    virtual net::awaitable<void> finish(const generation_outcome& outcome) = 0;
    // The request failed after begin(): the engine failed (engine_failure(): a grammar that
    // could not be followed is a 400, anything else a 500), or an error was thrown while the
    // output was relayed. A sink that has not written its head throws `e` (the connection
    // answers with it); a started stream ends with one error event in its own format and
    // its terminator, never with an HTTP response inside the stream.
    virtual net::awaitable<void> fail(const api::api_error& e) = 0;
    // Streams that want a keep-alive while the prompt is prefilled (Anthropic's `ping`): the
    // interval (zero: none), and the event, called when no token came for that long.
    virtual std::chrono::milliseconds keepalive_interval() const { return std::chrono::milliseconds(0); }
    virtual net::awaitable<void> keepalive() { co_return; }
    // One entry per prompt token after the first (id, logprob, alternatives), before output.
    virtual net::awaitable<void> prompt_logprobs(std::vector<engine::generated_token>) { co_return; }
    virtual net::awaitable<void> output_choice(std::size_t, std::span<const tools::parse_event> events, const engine::generated_token* token) {
        return output(events, token);
    }
    virtual net::awaitable<void> finish_choices(std::span<const generation_outcome> outcomes) { return finish(outcomes.front()); }
};

// Submits `plan` and drives `sink` to the end. Throws api_error before begin() (503 at
// capacity, 400 when the request can never fit).
net::awaitable<void> run_generation(server_state& st, exchange& ex, generation_plan plan, event_sink& sink);

}  // namespace sluice::http::detail
