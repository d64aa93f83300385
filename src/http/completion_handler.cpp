// POST /v1/chat/completions and /v1/completions: the OpenAI adapter. Decodes and validates
// the request (api::parse_*_request), plans the generation (request_plan.hpp: render,
// tokenize, context check, grammar, output parser, n choices), then runs the shared
// generation pipeline (generation_pipeline.hpp) with the OpenAI encoder (openai_encoder.hpp).
#include "connection.hpp"
#include "generation_pipeline.hpp"
#include "openai_encoder.hpp"
#include "request_plan.hpp"
#include "sluice/api/completion_request.hpp"

namespace sluice::http::detail {
namespace {

// echo: the prompt as the client sent it, and its tokens after any the server added (BOS).
void echo_prompt(const server_state& st, const api::completion_request& r, const std::vector<engine::token_id>& prompt, openai_options& o) {
    const auto& tok = *st.model.tokenizer;
    o.echo = true;
    o.echo_text = r.prompt_ids.empty() ? r.prompt : tok.detokenize(r.prompt_ids, false, true);
    o.prompt_tokens = prompt;
    const auto& v = tok.get_vocab();
    o.prompt_tokens_skipped = r.prompt_ids.empty() && v.flags().add_bos && !prompt.empty() && prompt[0] == v.special().bos ? 1 : 0;
}

}  // namespace

// The decoded request and its plan (made on a request worker).
struct prepared_completion {
    api::completion_request r;
    generation_plan plan;
};

net::awaitable<void> handle_completion(server_state& st, exchange& ex, bool chat) {
    prepared_completion p = co_await st.workers.run([&st, &ex, chat] {
        const api::parse_options popt{st.config.strict_fields};
        prepared_completion out;
        out.r = chat ? api::parse_chat_request(ex.req.body(), popt) : api::parse_completion_request(ex.req.body(), popt);
        out.plan = plan_generation(st, out.r);
        return out;
    });
    auto& r = p.r;
    auto& plan = p.plan;
    report_ignored(ex, r.ignored_fields);
    openai_options options;
    options.chat = chat;
    options.stream = r.stream;
    options.include_usage = r.include_usage;
    options.logprobs = r.top_logprobs >= 0;
    options.legacy_functions = r.legacy_functions;
    options.n = plan.n;
    if (r.echo) echo_prompt(st, r, plan.request.prompt, options);
    openai_encoder encoder(st, ex, std::move(options));
    co_await run_generation(st, ex, std::move(plan), encoder);
}

}  // namespace sluice::http::detail
