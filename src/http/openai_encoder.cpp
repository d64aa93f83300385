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
      created_(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()),
      choices_(std::max<std::size_t>(1, opt_.n)), out_(ex) {
    if (opt_.echo) {
        for (auto& c : choices_) c.text = opt_.echo_text;
    }
}

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
        if (std::isnan(t.logprob)) {  // an echoed first prompt token: nothing predicted it
            lps.push_back(nullptr);
            tops.push_back(nullptr);
        } else {
            lps.push_back(t.logprob);
            json::object alt;
            for (const auto& a : t.top) {
                if (std::isfinite(a.logprob)) alt[utf8::sanitize(tok.piece(a.id))] = a.logprob;
            }
            tops.push_back(std::move(alt));
        }
        offsets.push_back(text_offset);
        text_offset += piece.size();
    }
    return json::object{{"tokens", names}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

// One streamed chunk: the delta (chat) or text (completions), with the logprobs of the
// tokens since the last chunk.
json::object openai_encoder::chunk(std::size_t index, json::object delta, std::string_view text, const char* finish_reason) {
    choice_state& c = choices_[index];
    json::object choice{{"index", index}};
    if (opt_.chat) {
        choice["delta"] = std::move(delta);
    } else {
        choice["text"] = text;
    }
    if (opt_.logprobs && !c.pending.empty()) {
        choice["logprobs"] = logprobs_of(c.pending, c.text.size() - text.size());
        c.pending.clear();
    } else {
        choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = finish_reason ? json::value(finish_reason) : json::value(nullptr);
    return envelope(json::array{std::move(choice)});
}

// Folds an event into the message so far, and returns its streamed delta.
json::object openai_encoder::delta_of(choice_state& c, const tools::parse_event& e) {
    using kind = tools::parse_event::kind;
    switch (e.type) {
        case kind::content:
            c.text += e.text;
            return {{"content", e.text}};
        case kind::reasoning:
            c.reasoning += e.text;
            return {{"reasoning_content", e.text}};
        case kind::call_begin: {
            const std::string id = e.id.empty() ? random_id("call_") : e.id;
            c.calls.push_back(json::object{{"id", id}, {"type", "function"}, {"function", json::object{{"name", e.name}, {"arguments", ""}}}});
            if (opt_.legacy_functions) return {{"function_call", json::object{{"name", e.name}, {"arguments", ""}}}};
            json::object call{{"index", e.index}, {"id", id}, {"type", "function"},
                              {"function", json::object{{"name", e.name}, {"arguments", ""}}}};
            return {{"tool_calls", json::array{std::move(call)}}};
        }
        case kind::call_arguments: {
            if (e.index < c.calls.size()) {
                auto& args = c.calls[e.index].as_object()["function"].as_object()["arguments"].as_string();
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

// Each choice's first chunk: the echoed prompt (with its tokens' logprobs when asked).
net::awaitable<void> openai_encoder::write_echo() {
    for (std::size_t i = 0; i < choices_.size(); ++i) {
        choices_[i].pending = echo_tokens_;
        const json::object frame = chunk(i, json::object(), opt_.echo_text, nullptr);
        co_await write_frame(frame);
    }
}

net::awaitable<void> openai_encoder::begin() {
    if (!opt_.stream) co_return;
    co_await out_.start();
    if (opt_.echo && !opt_.logprobs) co_await write_echo();  // with logprobs: once they come
    if (!opt_.chat) co_return;
    for (std::size_t i = 0; i < choices_.size(); ++i) {
        json::object first;
        first["role"] = "assistant";
        first["content"] = std::string_view();
        const json::object frame = chunk(i, std::move(first), std::string_view(), nullptr);
        co_await write_frame(frame);
    }
}

// The prompt's tokens as completions logprobs: entries[j] is prompt token j + 1; a first
// token with nothing before it gets a NaN logprob (null in JSON).
net::awaitable<void> openai_encoder::prompt_logprobs(std::vector<engine::generated_token> entries) {
    if (!opt_.echo || !opt_.logprobs) co_return;
    echo_tokens_.clear();
    for (std::size_t p = opt_.prompt_tokens_skipped; p < opt_.prompt_tokens.size(); ++p) {
        if (p == 0) {
            echo_tokens_.push_back({opt_.prompt_tokens[0], std::nanf(""), {}});
        } else if (p - 1 < entries.size()) {
            echo_tokens_.push_back(std::move(entries[p - 1]));
        }
    }
    if (opt_.stream) co_await write_echo();
}

net::awaitable<void> openai_encoder::output(std::span<const tools::parse_event> events, const engine::generated_token* token) {
    co_await output_choice(0, events, token);
}

net::awaitable<void> openai_encoder::output_choice(std::size_t index, std::span<const tools::parse_event> events,
                                                   const engine::generated_token* token) {
    choice_state& c = choices_[index];
    if (token != nullptr && opt_.logprobs) (opt_.stream ? c.pending : c.tokens).push_back(*token);
    using kind = tools::parse_event::kind;
    // The parser already merges adjacent text of one kind within a push: one event, one delta.
    for (const tools::parse_event& e : events) {
        if (!opt_.chat && e.type != kind::content) continue;  // completions: text only (no parser runs there)
        json::object delta = delta_of(c, e);
        if (opt_.stream && !delta.empty() && !(e.type != kind::call_begin && e.text.empty())) {
            const json::object frame = chunk(index, std::move(delta), e.type == kind::content ? std::string_view(e.text) : std::string_view(), nullptr);
            co_await write_frame(frame);
        }
    }
}

// The prompt once, every choice's completion tokens.
json::object openai_encoder::usage_of(std::span<const generation_outcome> outcomes) const {
    std::size_t completion = 0, reasoning = 0;
    for (const auto& o : outcomes) {
        completion += o.usage.completion_tokens;
        reasoning += o.usage.reasoning_tokens;
    }
    const generation_usage& first = outcomes.front().usage;
    json::object u{{"prompt_tokens", first.prompt_tokens}, {"completion_tokens", completion},
                   {"total_tokens", first.prompt_tokens + completion},
                   {"prompt_tokens_details", json::object{{"cached_tokens", first.cached_tokens}}}};
    if (opt_.chat) u["completion_tokens_details"] = json::object{{"reasoning_tokens", reasoning}};
    return u;
}

net::awaitable<void> openai_encoder::finish(const generation_outcome& outcome) {
    co_await finish_choices(std::span<const generation_outcome>(&outcome, 1));
}

net::awaitable<void> openai_encoder::finish_choices(std::span<const generation_outcome> outcomes) {
    const json::object u = usage_of(outcomes);
    if (opt_.stream) {
        for (std::size_t i = 0; i < choices_.size() && i < outcomes.size(); ++i) {
            const json::object frame = chunk(i, json::object(), std::string_view(), reason_name(outcomes[i].finish, opt_.legacy_functions));
            co_await write_frame(frame);
        }
        if (opt_.include_usage) {
            json::object last = envelope(json::array{});
            last["usage"] = u;
            co_await write_frame(last);
        }
        co_await end_stream();
        co_return;
    }
    json::array list;
    for (std::size_t i = 0; i < choices_.size() && i < outcomes.size(); ++i) {
        choice_state& c = choices_[i];
        json::object choice{{"index", i}, {"finish_reason", reason_name(outcomes[i].finish, opt_.legacy_functions)}};
        if (opt_.chat) {
            json::object message{{"role", "assistant"}};
            // OpenAI's shape: content null next to tool calls when the model wrote no text.
            message["content"] = c.calls.empty() || !c.text.empty() ? json::value(c.text) : json::value(nullptr);
            if (!c.reasoning.empty()) message["reasoning_content"] = c.reasoning;
            if (!c.calls.empty() && opt_.legacy_functions) {
                message["function_call"] = c.calls[0].at("function");
            } else if (!c.calls.empty()) {
                message["tool_calls"] = c.calls;
            }
            choice["message"] = std::move(message);
        } else {
            choice["text"] = c.text;
        }
        if (opt_.logprobs && !echo_tokens_.empty()) c.tokens.insert(c.tokens.begin(), echo_tokens_.begin(), echo_tokens_.end());
        choice["logprobs"] = opt_.logprobs ? logprobs_of(c.tokens, 0) : json::value(nullptr);
        list.push_back(std::move(choice));
    }
    json::object body = envelope(std::move(list));
    body["usage"] = u;
    co_await write_json_reply(ex_, json::serialize(body));
}

net::awaitable<void> openai_encoder::fail(const api::api_error& e) {
    if (!opt_.stream || !out_.started()) throw e;
    // The error is the stream's last event: no [DONE] after it, which would read as a
    // normal end to a client that skips unknown frames.
    const json::object frame = json::parse(e.body(ex_.record.id)).as_object();
    co_await write_frame(frame);
    co_await out_.end();
}

}  // namespace sluice::http::detail
