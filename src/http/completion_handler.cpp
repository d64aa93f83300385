// POST /v1/chat/completions and /v1/completions: the OpenAI adapter. Decodes and validates
// the request (api::parse_*_request), plans the generation (request_plan.hpp: render,
// tokenize, context check, grammar, output parser), then runs the shared generation
// pipeline (generation_pipeline.hpp) with the OpenAI encoder (openai_encoder.hpp).
#include "connection.hpp"
#include "generation_pipeline.hpp"
#include "openai_encoder.hpp"
#include "request_plan.hpp"
#include "sluice/api/completion_request.hpp"

namespace sluice::http::detail {

net::awaitable<void> handle_completion(server_state& st, exchange& ex, bool chat) {
    const api::parse_options popt{st.config.strict_fields};
    auto r = chat ? api::parse_chat_request(ex.req.body(), popt) : api::parse_completion_request(ex.req.body(), popt);
    report_ignored(ex, r.ignored_fields);
    generation_plan plan = plan_generation(st, r);
    openai_encoder encoder(st, ex, openai_options{chat, r.stream, r.include_usage, r.top_logprobs >= 0, r.legacy_functions});
    co_await run_generation(st, ex, std::move(plan), encoder);
}

}  // namespace sluice::http::detail
