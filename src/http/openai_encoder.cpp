#include "openai_encoder.hpp"

#include <chrono>
#include <cmath>
#include <random>

#include "sluice/api/sse.hpp"
#include "sluice/util/utf8.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;
using net::use_awaitable;


json::array bytes_of(const std::string& s) {
    json::array a;
    for (unsigned char c : s) a.push_back(c);
    return a;
}

const char* reason_name(finish_kind k, bool legacy_functions) {
    switch (k) {
        case finish_kind::stop: return "stop";
        case finish_kind::length: return "length";
        case finish_kind::tool_calls: return legacy_functions ? "function_call" : "tool_calls";
    }
    return "stop";
}

}  // namespace

openai_encoder::openai_encoder(server_state& st, exchange& ex, openai_options opt)
    : st_(st), ex_(ex), opt_(opt), id_(random_id(opt.chat ? "chatcmpl-" : "cmpl-")),
      created_(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()), out_(ex) {}

json::object openai_encoder::envelope(json::array choices) const {
    const char* object = opt_.chat ? (opt_.stream ? "chat.completion.chunk" : "chat.completion") : "text_completion";
    return {{"id", id_}, {"object", object}, {"created", created_}, {"model", st_.model.id}, {"choices", std::move(choices)}};
}

// Chat: {"content": [{token, logprob, bytes, top_logprobs}]}; completions: the legacy
// parallel arrays, with text offsets counted from `text_offset`.
json::value openai_encoder::logprobs_of(const std::vector<engine::generated_token>& tokens, std::size_t text_offset) const {
    const auto& tok = *st_.model.tokenizer;
    if (opt_.chat) {
        json::array entries;
        for (const auto& t : tokens) {
            const std::string& piece = tok.piece(t.id);
            json::array top;
            for (const auto& alt : t.top) {
                if (!std::isfinite(alt.logprob)) continue;  // masked by a grammar: not a possible token (and not JSON)
                const std::string& p = tok.piece(alt.id);
                top.push_back(json::object{{"token", utf8::sanitize(p)}, {"logprob", alt.logprob}, {"bytes", bytes_of(p)}});
            }
            entries.push_back(json::object{{"token", utf8::sanitize(piece)}, {"logprob", t.logprob}, {"bytes", bytes_of(piece)},
                                           {"top_logprobs", std::move(top)}});
        }
        return json::object{{"content", std::move(entries)}};
    }
    json::array names, lps, tops, offsets;
    for (const auto& t : tokens) {
        const std::string piece = utf8::sanitize(tok.piece(t.id));
        names.push_back(json::value(piece));
        lps.push_back(t.logprob);
        json::object alt;
        for (const auto& a : t.top) {
            if (std::isfinite(a.logprob)) alt[utf8::sanitize(tok.piece(a.id))] = a.logprob;
        }
        tops.push_back(std::move(alt));
        offsets.push_back(text_offset);
        text_offset += piece.size();
    }
    return json::object{{"tokens", names}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

// One streamed chunk: the delta (chat) or text (completions), with the logprobs of the
// tokens since the last chunk.
json::object openai_encoder::chunk(json::object delta, std::string_view text, const char* finish_reason) {
    json::object choice{{"index", 0}};
    if (opt_.chat) {
        choice["delta"] = std::move(delta);
    } else {
        choice["text"] = text;
    }
    if (opt_.logprobs && !pending_.empty()) {
        choice["logprobs"] = logprobs_of(pending_, text_.size() - text.size());
        pending_.clear();
    } else {
        choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = finish_reason ? json::value(finish_reason) : json::value(nullptr);
    return envelope(json::array{std::move(choice)});
}

// Folds an event into the message so far, and returns its streamed delta.
json::object openai_encoder::delta_of(const tools::parse_event& e) {
    using kind = tools::parse_event::kind;
    switch (e.type) {
        case kind::content:
            text_ += e.text;
            return {{"content", e.text}};
        case kind::reasoning:
            reasoning_ += e.text;
            return {{"reasoning_content", e.text}};
        case kind::call_begin: {
            const std::string id = e.id.empty() ? random_id("call_") : e.id;
            calls_.push_back(json::object{{"id", id}, {"type", "function"}, {"function", json::object{{"name", e.name}, {"arguments", ""}}}});
            if (opt_.legacy_functions) return {{"function_call", json::object{{"name", e.name}, {"arguments", ""}}}};
            json::object call{{"index", e.index}, {"id", id}, {"type", "function"},
                              {"function", json::object{{"name", e.name}, {"arguments", ""}}}};
            return {{"tool_calls", json::array{std::move(call)}}};
        }
        case kind::call_arguments: {
            if (e.index < calls_.size()) {
                auto& args = calls_[e.index].as_object()["function"].as_object()["arguments"].as_string();
                args.append(e.text);
            }
            if (opt_.legacy_functions) return {{"function_call", json::object{{"arguments", e.text}}}};
            return {{"tool_calls", json::array{json::object{{"index", e.index}, {"function", json::object{{"arguments", e.text}}}}}}};
        }
        case kind::call_end: return {};
    }
    return {};
}

net::awaitable<void> openai_encoder::write_frame(const json::object& v) {
    const std::string data = api::sse_frame(v);
    co_await out_.write(data);
}

net::awaitable<void> openai_encoder::end_stream() {
    const std::string done = api::sse_done;
    co_await out_.write(done);
    co_await out_.end();
}

net::awaitable<void> openai_encoder::begin() {
    if (!opt_.stream) co_return;
    co_await out_.start();
    if (!opt_.chat) co_return;
    json::object first;
    first["role"] = "assistant";
    first["content"] = std::string_view();
    const json::object frame = chunk(std::move(first), std::string_view(), nullptr);
    co_await write_frame(frame);
}

net::awaitable<void> openai_encoder::output(std::span<const tools::parse_event> events, const engine::generated_token* token) {
    if (token != nullptr && opt_.logprobs) (opt_.stream ? pending_ : tokens_).push_back(*token);
    using kind = tools::parse_event::kind;
    // The parser already merges adjacent text of one kind within a push: one event, one delta.
    for (const tools::parse_event& e : events) {
        if (!opt_.chat && e.type != kind::content) continue;  // completions: text only (no parser runs there)
        json::object delta = delta_of(e);
        if (opt_.stream && !delta.empty() && !(e.type != kind::call_begin && e.text.empty())) {
            const json::object frame = chunk(std::move(delta), e.type == kind::content ? std::string_view(e.text) : std::string_view(), nullptr);
            co_await write_frame(frame);
        }
    }
}

net::awaitable<void> openai_encoder::finish(const generation_outcome& outcome) {
    const finish_kind why = outcome.finish;
    const generation_usage& usage = outcome.usage;
    json::object u{{"prompt_tokens", usage.prompt_tokens}, {"completion_tokens", usage.completion_tokens},
                   {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
                   {"prompt_tokens_details", json::object{{"cached_tokens", usage.cached_tokens}}}};
    if (opt_.chat) u["completion_tokens_details"] = json::object{{"reasoning_tokens", usage.reasoning_tokens}};
    if (opt_.stream) {
        const json::object frame = chunk(json::object(), std::string_view(), reason_name(why, opt_.legacy_functions));
        co_await write_frame(frame);
        if (opt_.include_usage) {
            json::object last = envelope(json::array{});
            last["usage"] = u;
            co_await write_frame(last);
        }
        co_await end_stream();
        co_return;
    }
    json::object choice{{"index", 0}, {"finish_reason", reason_name(why, opt_.legacy_functions)}};
    if (opt_.chat) {
        json::object message{{"role", "assistant"}};
        // OpenAI's shape: content null next to tool calls when the model wrote no text.
        message["content"] = calls_.empty() || !text_.empty() ? json::value(text_) : json::value(nullptr);
        if (!reasoning_.empty()) message["reasoning_content"] = reasoning_;
        if (!calls_.empty() && opt_.legacy_functions) {
            message["function_call"] = calls_[0].at("function");
        } else if (!calls_.empty()) {
            message["tool_calls"] = calls_;
        }
        choice["message"] = std::move(message);
    } else {
        choice["text"] = text_;
    }
    choice["logprobs"] = opt_.logprobs ? logprobs_of(tokens_, 0) : json::value(nullptr);
    json::object body = envelope(json::array{std::move(choice)});
    body["usage"] = u;
    co_await write_json_reply(ex_, json::serialize(body));
}

net::awaitable<void> openai_encoder::fail(const std::string& error) {
    const api::api_error e = engine_failure(error);
    if (!opt_.stream) throw e;
    const json::object frame = json::parse(e.body()).as_object();
    co_await write_frame(frame);
    co_await end_stream();
}

}  // namespace sluice::http::detail
