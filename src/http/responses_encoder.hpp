// The OpenAI Responses encoder of the generation pipeline's events: a Response object
// ({id: "resp_…", object: "response", status, output: [reasoning | message | function_call
// items], usage, and the request's settings echoed}) or its stream of typed events, each
// `event: <type>` + `data: {..., "sequence_number": n}`:
//   response.created, response.in_progress;
//   per item response.output_item.added, then
//     message:   response.content_part.added, response.output_text.delta..., response.output_text.done, response.content_part.done
//     reasoning: response.content_part.added, response.reasoning_text.delta..., response.reasoning_text.done, response.content_part.done
//     function_call: response.function_call_arguments.delta..., response.function_call_arguments.done
//   and response.output_item.done;
//   response.completed (or response.incomplete when max_output_tokens cut it, response.failed).
// Both modes see the same events, so they produce the same output items. When the response
// is complete, `on_complete` receives it and its output items (to store it).
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>

#include "event_stream.hpp"
#include "generation_pipeline.hpp"

namespace sluice::http::detail {

struct responses_settings {
    bool stream = false;
    boost::json::object echo;  // request fields the Response object shows (tools, tool_choice, text, reasoning, ...)
    std::function<void(const boost::json::object& response, const boost::json::array& output)> on_complete;
};

class responses_encoder final : public event_sink {
public:
    responses_encoder(server_state& st, exchange& ex, responses_settings settings);

    const std::string& id() const noexcept { return id_; }

    net::awaitable<void> begin() override;
    net::awaitable<void> output(std::span<const tools::parse_event> events, const engine::generated_token* token) override;
    net::awaitable<void> finish(const generation_outcome& outcome) override;
    net::awaitable<void> fail(const api::api_error& e) override;

private:
    enum class item_kind { none, message, reasoning, function_call };
    boost::json::object response(const char* status) const;
    net::awaitable<void> open_item(item_kind kind, boost::json::object item);
    net::awaitable<void> close_item();
    net::awaitable<void> send(boost::json::object event);

    server_state& st_;
    exchange& ex_;
    responses_settings settings_;
    std::string id_;
    std::int64_t created_at_;
    std::uint64_t sequence_ = 0;
    boost::json::array output_;   // items so far; the last is open while open_ != none
    std::string text_;            // the open item's text or arguments
    item_kind open_ = item_kind::none;
    event_stream out_;
};

}  // namespace sluice::http::detail
