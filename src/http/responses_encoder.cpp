#include "responses_encoder.hpp"

#include <chrono>
#include <random>

#include "sluice/api/sse.hpp"
#include "sluice/util/log.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;
using net::use_awaitable;


json::value or_null(const json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    return v ? *v : json::value(nullptr);
}

}  // namespace

responses_encoder::responses_encoder(server_state& st, exchange& ex, responses_settings settings)
    : st_(st), ex_(ex), settings_(std::move(settings)), id_(random_id("resp_")),
      created_at_(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()), out_(ex) {}

json::object responses_encoder::response(const char* status) const {
    const auto& e = settings_.echo;
    json::object r{{"id", id_}, {"object", "response"}, {"created_at", created_at_}, {"status", status}, {"background", false},
                   {"model", st_.model.id}, {"output", output_}};
    r["error"] = nullptr;
    r["incomplete_details"] = nullptr;
    for (const char* k : {"instructions", "max_output_tokens", "previous_response_id", "temperature", "top_p", "user"}) r[k] = or_null(e, k);
    r["parallel_tool_calls"] = e.contains("parallel_tool_calls") ? e.at("parallel_tool_calls") : json::value(true);
    r["reasoning"] = e.contains("reasoning") ? e.at("reasoning") : json::value(json::object{{"effort", nullptr}, {"summary", nullptr}});
    r["store"] = e.contains("store") ? e.at("store") : json::value(true);
    r["text"] = e.contains("text") ? e.at("text") : json::value(json::object{{"format", json::object{{"type", "text"}}}});
    r["tool_choice"] = e.contains("tool_choice") ? e.at("tool_choice") : json::value("auto");
    r["tools"] = e.contains("tools") ? e.at("tools") : json::value(json::array());
    r["truncation"] = "disabled";
    r["metadata"] = e.contains("metadata") ? e.at("metadata") : json::value(json::object());
    r["usage"] = nullptr;
    return r;
}

net::awaitable<void> responses_encoder::send(json::object event) {
    event["sequence_number"] = sequence_++;
    if (!settings_.stream) co_return;
    const std::string type(event.at("type").as_string());
    const std::string frame = api::sse_event(type, event);
    co_await out_.write(frame);
}

net::awaitable<void> responses_encoder::begin() {
    if (!settings_.stream) co_return;
    co_await out_.start();
    json::object created{{"type", "response.created"}};
    created["response"] = response("in_progress");
    co_await send(std::move(created));
    json::object progress{{"type", "response.in_progress"}};
    progress["response"] = response("in_progress");
    co_await send(std::move(progress));
}

net::awaitable<void> responses_encoder::open_item(item_kind kind, json::object item) {
    open_ = kind;
    text_.clear();
    output_.push_back(item);
    const std::size_t index = output_.size() - 1;
    json::object added{{"type", "response.output_item.added"}, {"output_index", index}};
    added["item"] = std::move(item);
    co_await send(std::move(added));
    if (kind == item_kind::function_call) co_return;
    json::object part_added{{"type", "response.content_part.added"}, {"item_id", output_[index].at("id")}, {"output_index", index},
                            {"content_index", 0}};
    part_added["part"] = kind == item_kind::message
                             ? json::object{{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}
                             : json::object{{"type", "reasoning_text"}, {"text", ""}};
    co_await send(std::move(part_added));
}

net::awaitable<void> responses_encoder::close_item() {
    if (open_ == item_kind::none) co_return;
    const std::size_t index = output_.size() - 1;
    auto& item = output_[index].as_object();
    const json::value item_id = item.at("id");
    if (open_ == item_kind::function_call) {
        item["arguments"] = text_;
        item["status"] = "completed";
        json::object done{{"type", "response.function_call_arguments.done"}, {"item_id", item_id}, {"output_index", index},
                          {"name", item.at("name")}, {"arguments", text_}};
        co_await send(std::move(done));
    } else {
        const bool message = open_ == item_kind::message;
        json::object part = message ? json::object{{"type", "output_text"}, {"text", text_}, {"annotations", json::array()}}
                                    : json::object{{"type", "reasoning_text"}, {"text", text_}};
        item["content"] = json::array{part};
        if (message) item["status"] = "completed";
        json::object done{{"type", message ? "response.output_text.done" : "response.reasoning_text.done"}, {"item_id", item_id},
                          {"output_index", index}, {"content_index", 0}, {"text", text_}};
        co_await send(std::move(done));
        json::object part_done{{"type", "response.content_part.done"}, {"item_id", item_id}, {"output_index", index}, {"content_index", 0}};
        part_done["part"] = std::move(part);
        co_await send(std::move(part_done));
    }
    open_ = item_kind::none;
    json::object item_done{{"type", "response.output_item.done"}, {"output_index", index}};
    item_done["item"] = output_[index];
    co_await send(std::move(item_done));
}

net::awaitable<void> responses_encoder::output(std::span<const tools::parse_event> events, const engine::generated_token*) {
    using kind = tools::parse_event::kind;
    for (const auto& e : events) {
        if ((e.type == kind::content || e.type == kind::reasoning || e.type == kind::call_arguments) && e.text.empty()) continue;
        if (e.type == kind::content || e.type == kind::reasoning) {
            const item_kind want = e.type == kind::content ? item_kind::message : item_kind::reasoning;
            if (open_ != want) {
                co_await close_item();
                json::object item = want == item_kind::message
                                        ? json::object{{"id", random_id("msg_")}, {"type", "message"}, {"status", "in_progress"},
                                                       {"role", "assistant"}, {"content", json::array()}}
                                        : json::object{{"id", random_id("rs_")}, {"type", "reasoning"}, {"summary", json::array()},
                                                       {"content", json::array()}};
                co_await open_item(want, std::move(item));
            }
            text_ += e.text;
            const std::size_t index = output_.size() - 1;
            json::object delta{{"type", want == item_kind::message ? "response.output_text.delta" : "response.reasoning_text.delta"},
                               {"item_id", output_[index].at("id")}, {"output_index", index}, {"content_index", 0}, {"delta", e.text}};
            if (want == item_kind::message) delta["logprobs"] = json::array();
            co_await send(std::move(delta));
        } else if (e.type == kind::call_begin) {
            co_await close_item();
            json::object item{{"id", random_id("fc_")}, {"type", "function_call"}, {"status", "in_progress"}, {"arguments", ""},
                              {"call_id", e.id.empty() ? random_id("call_") : e.id}, {"name", e.name}};
            co_await open_item(item_kind::function_call, std::move(item));
        } else if (e.type == kind::call_arguments) {
            if (open_ != item_kind::function_call) continue;
            text_ += e.text;
            const std::size_t index = output_.size() - 1;
            json::object delta{{"type", "response.function_call_arguments.delta"}, {"item_id", output_[index].at("id")},
                               {"output_index", index}, {"delta", e.text}};
            co_await send(std::move(delta));
        } else if (e.type == kind::call_end) {
            co_await close_item();
        }
    }
}

net::awaitable<void> responses_encoder::finish(const generation_outcome& outcome) {
    co_await close_item();
    const bool incomplete = outcome.finish == finish_kind::length;
    if (incomplete && !output_.empty() && output_.back().as_object().at("type") == "function_call") {
        output_.back().as_object()["status"] = "incomplete";  // its arguments were cut off
    }
    json::object r = response(incomplete ? "incomplete" : "completed");
    if (incomplete) r["incomplete_details"] = json::object{{"reason", "max_output_tokens"}};
    const auto& u = outcome.usage;
    r["usage"] = json::object{{"input_tokens", u.prompt_tokens}, {"input_tokens_details", json::object{{"cached_tokens", u.cached_tokens}}},
                              {"output_tokens", u.completion_tokens},
                              {"output_tokens_details", json::object{{"reasoning_tokens", u.reasoning_tokens}}},
                              {"total_tokens", u.prompt_tokens + u.completion_tokens}};
    if (settings_.on_complete) {
        try {
            settings_.on_complete(r, output_);
        } catch (const std::exception& e) {
            // The answer is still delivered, saying it was not kept (`store: false`), so a
            // client does not build on an id that GET and previous_response_id cannot find.
            log::error(std::string("storing response ") + id_ + " failed: " + e.what());
            r["store"] = false;
        }
    }
    if (settings_.stream) {
        json::object done{{"type", incomplete ? "response.incomplete" : "response.completed"}};
        done["response"] = std::move(r);
        co_await send(std::move(done));
        co_await out_.end();
        co_return;
    }
    co_await write_json_reply(ex_, json::serialize(r));
}

net::awaitable<void> responses_encoder::fail(const api::api_error& e) {
    if (!settings_.stream || !out_.started()) throw e;
    co_await close_item();
    json::object r = response("failed");
    r["error"] = json::object{{"code", e.code.empty() ? std::string("server_error") : e.code}, {"message", e.what()}, {"request_id", ex_.record.id}};
    json::object failed{{"type", "response.failed"}};
    failed["response"] = std::move(r);
    co_await send(std::move(failed));
    co_await out_.end();
}

}  // namespace sluice::http::detail
