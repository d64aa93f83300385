#include "openai_encoder.hpp"

#include <chrono>
#include <random>

#include "sluice/api/sse.hpp"
#include "sluice/util/utf8.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;
using net::use_awaitable;

std::string random_id(const char* prefix) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = prefix;
    for (int i = 0; i < 24; ++i) id += hex[rng() % 16];
    return id;
}

json::array bytes_of(const std::string& s) {
    json::array a;
    for (unsigned char c : s) a.push_back(c);
    return a;
}

const char* reason_name(finish_kind k) { return k == finish_kind::stop ? "stop" : "length"; }

}  // namespace

openai_encoder::openai_encoder(server_state& st, exchange& ex, openai_options opt)
    : st_(st), ex_(ex), opt_(opt), id_(random_id(opt.chat ? "chatcmpl-" : "cmpl-")),
      created_(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()) {}

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
        for (const auto& a : t.top) alt[utf8::sanitize(tok.piece(a.id))] = a.logprob;
        tops.push_back(std::move(alt));
        offsets.push_back(text_offset);
        text_offset += piece.size();
    }
    return json::object{{"tokens", names}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

// One streamed chunk: the piece, the logprobs of the tokens since the last chunk.
json::object openai_encoder::chunk(std::string_view piece, const char* finish_reason, bool first) {
    json::object choice{{"index", 0}};
    if (opt_.chat) {
        json::object delta;
        if (first) delta["role"] = "assistant";
        if (!piece.empty() || (first && finish_reason == nullptr)) delta["content"] = piece;
        choice["delta"] = std::move(delta);
    } else {
        choice["text"] = piece;
    }
    if (opt_.logprobs && !pending_.empty()) {
        choice["logprobs"] = logprobs_of(pending_, text_.size() - piece.size());
        pending_.clear();
    } else {
        choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = finish_reason ? json::value(finish_reason) : json::value(nullptr);
    return envelope(json::array{std::move(choice)});
}

net::awaitable<void> openai_encoder::write_frame(const json::value& v) {
    const std::string data = api::sse_frame(v);
    co_await net::async_write(ex_.stream, bhttp::make_chunk(net::buffer(data)), use_awaitable);
}

net::awaitable<void> openai_encoder::end_stream() {
    const std::string done = api::sse_done;
    co_await net::async_write(ex_.stream, bhttp::make_chunk(net::buffer(done)), use_awaitable);
    co_await net::async_write(ex_.stream, bhttp::make_chunk_last(), use_awaitable);
}

net::awaitable<void> openai_encoder::begin() {
    if (!opt_.stream) co_return;
    head_.emplace(bhttp::status::ok, ex_.req.version());
    head_->set(bhttp::field::content_type, "text/event-stream");
    head_->set(bhttp::field::cache_control, "no-cache");
    head_->set(bhttp::field::server, "sluice");
    add_exchange_headers(ex_, *head_);
    head_->chunked(true);
    head_->keep_alive(ex_.req.keep_alive());
    serializer_.emplace(*head_);
    co_await bhttp::async_write_header(ex_.stream, *serializer_, use_awaitable);
    if (opt_.chat) co_await write_frame(chunk("", nullptr, true));
}

net::awaitable<void> openai_encoder::text(std::string_view piece, const engine::generated_token* token) {
    if (token != nullptr && opt_.logprobs) (opt_.stream ? pending_ : tokens_).push_back(*token);
    text_ += piece;
    if (opt_.stream && !piece.empty()) co_await write_frame(chunk(piece, nullptr, false));
}

net::awaitable<void> openai_encoder::finish(finish_kind why, const generation_usage& usage) {
    const json::object u{{"prompt_tokens", usage.prompt_tokens}, {"completion_tokens", usage.completion_tokens},
                         {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
                         {"prompt_tokens_details", json::object{{"cached_tokens", usage.cached_tokens}}}};
    if (opt_.stream) {
        co_await write_frame(chunk("", reason_name(why), false));
        if (opt_.include_usage) {
            json::object last = envelope(json::array{});
            last["usage"] = u;
            co_await write_frame(last);
        }
        co_await end_stream();
        co_return;
    }
    json::object choice{{"index", 0}, {"finish_reason", reason_name(why)}};
    if (opt_.chat) {
        choice["message"] = json::object{{"role", "assistant"}, {"content", text_}};
    } else {
        choice["text"] = text_;
    }
    choice["logprobs"] = opt_.logprobs ? logprobs_of(tokens_, 0) : json::value(nullptr);
    json::object body = envelope(json::array{std::move(choice)});
    body["usage"] = u;
    auto res = json_response(ex_, 200, json::serialize(body));
    res.keep_alive(ex_.req.keep_alive());
    res.prepare_payload();
    co_await bhttp::async_write(ex_.stream, res, use_awaitable);
}

net::awaitable<void> openai_encoder::fail(const std::string& error) {
    const std::string_view prefix = engine::k_grammar_error_prefix;
    const api::api_error e = error.starts_with(prefix)
                                 ? api::invalid_request("The requested output format could not be followed: " + error.substr(prefix.size()), {},
                                                        "grammar_failed")
                                 : api::internal_error();
    if (!opt_.stream) throw e;
    co_await write_frame(json::parse(e.body()));
    co_await end_stream();
}

}  // namespace sluice::http::detail
