// POST /v1/responses, GET /v1/responses/{id}, GET /v1/responses/{id}/input_items and
// DELETE /v1/responses/{id}: the OpenAI Responses adapter. A request decodes into the
// canonical request (api::parse_responses_request); previous_response_id prepends the stored
// conversation; the shared pipeline runs with the Responses encoder, and a completed response
// with store: true is kept in the SQLite store (store/response_store.hpp), visible only to the
// API key that created it.
#include <boost/json.hpp>
#include <random>

#include "connection.hpp"
#include "generation_pipeline.hpp"
#include "request_plan.hpp"
#include "responses_encoder.hpp"
#include "sluice/api/responses_request.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;

// Who may read a stored response: the API key's id (never the key); "" without keys.
std::string owner_of(const server_state& st, const exchange& ex) { return st.keys.required() ? ex.client : std::string(); }

api::api_error response_not_found(const std::string& id) {
    return api::not_found("No response with id '" + id + "' is stored (it may have expired, or belong to another key).", "response_not_found");
}


// Input items as GET .../input_items lists them: each with an id.
json::array with_ids(json::array items) {
    for (auto& v : items) {
        auto& o = v.as_object();
        if (!o.contains("id")) o["id"] = random_id(o.at("type") == "message" ? "msg_" : o.at("type") == "function_call_output" ? "fco_" : "item_");
    }
    return items;
}

}  // namespace

// The decoded request, the stored conversation it continues and its plan (made on a
// request worker: decoding, the store's read, rendering and tokenizing).
struct prepared_response {
    api::responses_request req;
    json::array history;
    generation_plan plan;
};

net::awaitable<void> handle_responses(server_state& st, exchange& ex) {
    const std::string owner = owner_of(st, ex);
    prepared_response p = co_await st.workers.run([&st, &ex, &owner] {
        prepared_response out;
        out.req = api::parse_responses_request(ex.req.body(), api::parse_options{st.config.strict_fields});
        if (!out.req.previous_response_id.empty()) {
            const auto prev = st.config.responses ? st.config.responses->get(out.req.previous_response_id, owner) : std::nullopt;
            if (!prev) throw response_not_found(out.req.previous_response_id);
            out.history = json::parse(prev->history_json).as_array();
        }
        out.req.canonical.messages = api::items_to_messages(out.history, out.req.input, out.req.instructions);
        out.plan = plan_generation(st, out.req.canonical);
        return out;
    });
    auto& req = p.req;
    auto& history = p.history;
    auto& plan = p.plan;
    report_ignored(ex, req.canonical.ignored_fields);

    responses_settings settings;
    settings.stream = req.canonical.stream;
    settings.echo = req.echo;
    if (!req.instructions.empty()) settings.echo["instructions"] = req.instructions;
    if (req.canonical.max_tokens) settings.echo["max_output_tokens"] = *req.canonical.max_tokens;
    if (!req.previous_response_id.empty()) settings.echo["previous_response_id"] = req.previous_response_id;
    settings.echo["parallel_tool_calls"] = req.canonical.parallel_tool_calls;
    settings.echo["store"] = req.store && st.config.responses != nullptr;
    settings.echo["temperature"] = req.canonical.sampling.temperature;
    settings.echo["top_p"] = req.canonical.sampling.top_p;
    if (!req.metadata.empty()) settings.echo["metadata"] = req.metadata;
    if (req.store && st.config.responses) {
        // The input's items get ids now, so the stored history and input_items agree.
        json::array input = with_ids(std::move(req.input));
        settings.on_complete = [store = st.config.responses, owner, history = std::move(history), input](const json::object& r,
                                                                                                        const json::array& output) {
            json::array all = history;
            for (const auto& i : input) all.push_back(i);
            for (const auto& o : output) all.push_back(o);
            store::stored_response s;
            s.id = std::string(r.at("id").as_string());
            s.owner = owner;
            s.created_at = r.at("created_at").as_int64();
            s.response_json = json::serialize(r);
            s.input_json = json::serialize(input);
            s.history_json = json::serialize(all);
            store->put(s);
        };
    }
    responses_encoder encoder(st, ex, std::move(settings));
    co_await run_generation(st, ex, std::move(plan), encoder);
}

response handle_stored_response(server_state& st, exchange& ex, std::string_view rest) {
    // rest: "{id}" or "{id}/input_items"
    const bool items = rest.ends_with("/input_items");
    const std::string id(items ? rest.substr(0, rest.size() - 12) : rest);
    const auto method = ex.req.method();
    const std::string owner = owner_of(st, ex);
    auto* store = st.config.responses.get();
    if (method == bhttp::verb::delete_ && !items) {
        if (store == nullptr || !store->remove(id, owner)) throw response_not_found(id);
        return json_response(ex, 200, json::serialize(json::object{{"id", id}, {"object", "response"}, {"deleted", true}}));
    }
    if (method != bhttp::verb::get && method != bhttp::verb::head) throw api::method_not_allowed("Use GET or DELETE for /v1/responses/{id}");
    const auto found = store ? store->get(id, owner) : std::nullopt;
    if (!found) throw response_not_found(id);
    if (!items) return json_response(ex, 200, found->response_json);
    const json::array data = json::parse(found->input_json).as_array();
    json::object list{{"object", "list"}, {"data", data}, {"has_more", false}};
    list["first_id"] = data.empty() ? json::value(nullptr) : data.front().at("id");
    list["last_id"] = data.empty() ? json::value(nullptr) : data.back().at("id");
    return json_response(ex, 200, json::serialize(list));
}

}  // namespace sluice::http::detail
