// POST /v1/messages and /v1/messages/count_tokens: the Anthropic adapter. Decodes the
// Messages body into the canonical request (api::parse_messages_request), plans it like every
// protocol (request_plan.hpp), and runs the shared pipeline with the Anthropic encoder.
#include <boost/json.hpp>

#include "anthropic_encoder.hpp"
#include "connection.hpp"
#include "generation_pipeline.hpp"
#include "request_plan.hpp"
#include "sluice/api/messages_request.hpp"

namespace sluice::http::detail {

namespace {

// The decoded request and its plan (made on a request worker).
struct prepared_messages {
    api::completion_request r;
    generation_plan plan;
};

}  // namespace

net::awaitable<void> handle_messages(server_state& st, exchange& ex) {
    prepared_messages p = co_await st.workers.run([&st, &ex] {
        prepared_messages out;
        out.r = api::parse_messages_request(ex.req.body(), api::parse_options{st.config.strict_fields});
        out.plan = plan_generation(st, out.r);
        return out;
    });
    auto& r = p.r;
    auto& plan = p.plan;
    report_ignored(ex, r.ignored_fields);
    anthropic_encoder encoder(st, ex, r.stream, plan.request.prompt.size());
    co_await run_generation(st, ex, std::move(plan), encoder);
}

response handle_count_tokens(server_state& st, exchange& ex) {
    const auto r = api::parse_messages_request(ex.req.body(), api::parse_options{st.config.strict_fields}, true);
    report_ignored(ex, r.ignored_fields);
    const std::size_t n = count_prompt_tokens(st, r);
    return json_response(ex, 200, boost::json::serialize(boost::json::object{{"input_tokens", n}}));
}

}  // namespace sluice::http::detail
