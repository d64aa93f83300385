// The one generation pipeline behind every protocol. A protocol adapter decodes its JSON
// into a prepared generation (prompt tokens, engine request, stop strings) and hands the
// pipeline an event_sink, its encoder; the pipeline submits the job, relays the engine's
// tokens through the incremental decoder and the stop-string matcher, and calls the sink
// with protocol-neutral events. No protocol repeats any of this.
//
//   adapter: JSON -> generation_plan      pipeline: submit, watch the client, decode,
//   adapter: events -> JSON body / SSE    stop strings, metrics, cancel on exit
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "connection.hpp"
#include "sluice/engine/generator.hpp"

namespace sluice::http::detail {

// What to generate. `prompt_field` names the request field errors point at.
struct generation_plan {
    engine::generation_request request;  // prompt, max_tokens, sampling, grammar, logprobs
    std::vector<std::string> stop;
    std::string prompt_field = "messages";
};

struct generation_usage {
    std::size_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
};

enum class finish_kind { stop, length };

// A protocol's encoder. Called on the connection's strand, in this order: begin() once the
// job is admitted; text() for every generated token (`piece` is the text it completes, often
// empty while UTF-8 or a possible stop string is held back, and `token` its logprobs);
// then finish(), or fail() when the engine failed after begin(). A sink that throws (a
// failed write) ends the pipeline, which cancels the job.
class event_sink {
public:
    virtual ~event_sink() = default;
    virtual net::awaitable<void> begin() = 0;
    virtual net::awaitable<void> text(std::string_view piece, const engine::generated_token* token) = 0;
    virtual net::awaitable<void> finish(finish_kind why, const generation_usage& usage) = 0;
    // `error`: the engine's reason; one that starts with engine::k_grammar_error_prefix is the
    // request's grammar failing (a 4xx matter), anything else an internal failure.
    virtual net::awaitable<void> fail(const std::string& error) = 0;
};

// Submits `plan` and drives `sink` to the end. Throws api_error before begin() (503 at
// capacity, 400 when the request can never fit).
net::awaitable<void> run_generation(server_state& st, exchange& ex, generation_plan plan, event_sink& sink);

}  // namespace sluice::http::detail
