#include "sluice/api/completion_request.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>

#include "sluice/api/api_error.hpp"
#include "sluice/api/constraint.hpp"
#include "sluice/api/field_policy.hpp"
#include "sluice/api/json_body.hpp"
#include "field_gate.hpp"
#include "field_readers.hpp"
#include "tool_request.hpp"

namespace sluice::api {

namespace detail {

namespace json = boost::json;

std::string kind_name(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null: return "null";
        case json::kind::bool_: return "a boolean";
        case json::kind::int64:
        case json::kind::uint64: return "an integer";
        case json::kind::double_: return "a number";
        case json::kind::string: return "a string";
        case json::kind::array: return "an array";
        case json::kind::object: return "an object";
    }
    return "a value";
}

[[noreturn]] void wrong_type(const std::string& field, const char* wanted, const json::value& v) {
    throw invalid_request("'" + field + "' must be " + wanted + ", got " + kind_name(v), field);
}

double number(const std::string& field, const json::value& v, double lo, double hi) {
    if (!v.is_number()) wrong_type(field, "a number", v);
    const double d = v.to_number<double>();
    if (!std::isfinite(d) || d < lo || d > hi) {
        throw invalid_request("'" + field + "' must be between " + json::serialize(json::value(lo)) + " and " +
                                  json::serialize(json::value(hi)) + ", got " + json::serialize(v),
                              field);
    }
    return d;
}

std::int64_t integer(const std::string& field, const json::value& v, std::int64_t lo, std::int64_t hi) {
    if (v.is_double()) {
        const double d = v.get_double();
        if (d != std::floor(d)) wrong_type(field, "an integer", v);
        // Range-check before converting: casting a double outside int64 is undefined.
        if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi))) {
            throw invalid_request("'" + field + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                                      json::serialize(v),
                                  field);
        }
    } else if (!v.is_int64() && !v.is_uint64()) {
        wrong_type(field, "an integer", v);
    }
    if (v.is_uint64() && v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw invalid_request("'" + field + "' is out of range", field);
    }
    const auto i = v.is_double() ? static_cast<std::int64_t>(v.get_double()) : v.to_number<std::int64_t>();
    if (i < lo || i > hi) {
        throw invalid_request("'" + field + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                                  std::to_string(i),
                              field);
    }
    return i;
}

bool boolean(const std::string& field, const json::value& v) {
    if (!v.is_bool()) wrong_type(field, "a boolean", v);
    return v.get_bool();
}

std::string string(const std::string& field, const json::value& v) {
    if (!v.is_string()) wrong_type(field, "a string", v);
    return std::string(v.get_string());
}

[[noreturn]] void unsupported(const std::string& field, const std::string& what) {
    throw invalid_request(what + " is not supported by this server ('" + field + "')", field, "unsupported_parameter");
}

}  // namespace detail

namespace {

namespace json = boost::json;
using namespace detail;

constexpr int k_max_tokens_limit = 1 << 20;
constexpr std::size_t k_max_stop = 16;
constexpr std::size_t k_max_stop_len = 512;

json::object parse_object(std::string_view body) {
    json::value v = parse_json_body(body);
    if (!v.is_object()) throw invalid_request("The request body must be a JSON object, got " + kind_name(v));
    return std::move(v.as_object());
}

std::vector<std::string> parse_stop(const json::value& v) {
    std::vector<std::string> out;
    if (v.is_null()) return out;
    if (v.is_string()) {
        out.emplace_back(v.get_string());
    } else if (v.is_array()) {
        if (v.get_array().size() > k_max_stop) throw invalid_request("'stop' may hold at most " + std::to_string(k_max_stop) + " strings", "stop");
        for (std::size_t i = 0; i < v.get_array().size(); ++i) out.push_back(string("stop[" + std::to_string(i) + "]", v.get_array()[i]));
    } else {
        wrong_type("stop", "a string or an array of strings", v);
    }
    for (const auto& s : out) {
        if (s.empty() || s.size() > k_max_stop_len) throw invalid_request("stop strings must have 1 to " + std::to_string(k_max_stop_len) + " bytes", "stop");
    }
    return out;
}

// Honoured fields shared by both endpoints; returns false when `key` is not one of them.
bool common_field(completion_request& r, const std::string& key, const json::value& v, bool& stream_options_seen) {
    auto& s = r.sampling;
    if (key == "model") {
        if (!v.is_null()) r.model = string(key, v);
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
        if (!v.is_null()) r.max_tokens = static_cast<int>(integer(key, v, 1, k_max_tokens_limit));
    } else if (key == "n_predict") {  // llama-server: -1 means no limit
        if (v.is_null()) return true;
        const auto n = integer(key, v, -1, k_max_tokens_limit);
        if (n == 0) throw invalid_request("'n_predict' must be -1 or at least 1, got 0", key);
        if (n > 0) r.max_tokens = static_cast<int>(n);
        else r.max_tokens.reset();
    } else if (key == "response_format" || key == "json_schema" || key == "grammar") {
        if (v.is_null()) return true;
        constraint_spec spec;
        if (key == "response_format") {
            spec = parse_response_format(v);
        } else if (key == "json_schema") {  // llama-server: the schema itself
            if (!v.is_object() && !v.is_bool()) wrong_type(key, "a JSON Schema (an object or a boolean)", v);
            spec.type = constraint_spec::kind::json_schema;
            spec.schema = v;
            spec.field = key;
        } else {
            spec.gbnf = string(key, v);
            if (spec.gbnf.empty()) return true;  // llama-server treats "" as no grammar
            spec.type = constraint_spec::kind::gbnf;
            spec.field = key;
        }
        if (spec.type == constraint_spec::kind::none) return true;
        if (r.constraint.type != constraint_spec::kind::none) {
            throw invalid_request("Only one of 'response_format' (JSON modes), 'json_schema' and 'grammar' may be given", key);
        }
        r.constraint = std::move(spec);
    } else if (key == "ignore_eos") {
        if (!v.is_null()) r.ignore_eos = boolean(key, v);
    } else if (key == "repeat_last_n") {
        if (!v.is_null()) s.penalty_last_n = static_cast<int>(integer(key, v, -1, k_max_tokens_limit));
    } else if (key == "temperature") {
        if (!v.is_null()) s.temperature = static_cast<float>(number(key, v, 0.0, 2.0));
    } else if (key == "top_p") {
        if (!v.is_null()) s.top_p = static_cast<float>(number(key, v, 0.0, 1.0));
    } else if (key == "top_k") {
        if (!v.is_null()) s.top_k = static_cast<int>(integer(key, v, 0, 100000));
    } else if (key == "min_p") {
        if (!v.is_null()) s.min_p = static_cast<float>(number(key, v, 0.0, 1.0));
    } else if (key == "presence_penalty") {
        if (!v.is_null()) s.presence_penalty = static_cast<float>(number(key, v, -2.0, 2.0));
    } else if (key == "frequency_penalty") {
        if (!v.is_null()) s.frequency_penalty = static_cast<float>(number(key, v, -2.0, 2.0));
    } else if (key == "repetition_penalty" || key == "repeat_penalty") {
        if (!v.is_null()) s.repeat_penalty = static_cast<float>(number(key, v, 0.01, 10.0));
    } else if (key == "seed") {
        if (!v.is_null()) {
            s.seed = static_cast<std::uint64_t>(integer(key, v, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()));
            r.seeded = true;
        }
    } else if (key == "stop") r.stop = parse_stop(v);
    else if (key == "stream") {
        if (!v.is_null()) r.stream = boolean(key, v);
    } else if (key == "stream_options") {
        if (v.is_null()) return true;
        if (!v.is_object()) wrong_type(key, "an object", v);
        stream_options_seen = true;
        for (const auto& kv : v.get_object()) {
            if (kv.key() == "include_usage") r.include_usage = boolean("stream_options.include_usage", kv.value());
            else if (kv.key() == "include_obfuscation") (void)boolean("stream_options.include_obfuscation", kv.value());
            else throw invalid_request("Unrecognized field 'stream_options." + std::string(kv.key()) + "'", "stream_options." + std::string(kv.key()));
        }
    } else if (key == "logit_bias") {
        if (v.is_null()) return true;
        if (!v.is_object()) wrong_type(key, "an object", v);
        for (const auto& kv : v.get_object()) {
            const std::string field = "logit_bias." + std::string(kv.key());
            engine::token_id id = 0;
            try {
                std::size_t used = 0;
                const long long x = std::stoll(std::string(kv.key()), &used);
                if (used != kv.key().size() || x < 0 || x > std::numeric_limits<engine::token_id>::max()) throw std::out_of_range("");
                id = static_cast<engine::token_id>(x);
            } catch (const std::exception&) {
                throw invalid_request("'logit_bias' keys must be token ids, got '" + std::string(kv.key()) + "'", "logit_bias");
            }
            s.logit_bias[id] = static_cast<float>(number(field, kv.value(), -100.0, 100.0));
        }
    } else if (key == "n") {
        if (!v.is_null()) r.n = static_cast<int>(integer(key, v, 1, 128));
    } else {
        return false;
    }
    return true;
}

void finish(completion_request& r, bool stream_options_seen) {
    if (stream_options_seen && !r.stream) {
        throw invalid_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
    }
}

// Message content: a string, or an array of text parts (joined with newlines).
std::string message_content(const json::value& v, const std::string& field) {
    if (v.is_string()) return std::string(v.get_string());
    if (!v.is_array()) wrong_type(field, "a string or an array of content parts", v);
    std::string text;
    const auto& parts = v.get_array();
    for (std::size_t j = 0; j < parts.size(); ++j) {
        const std::string pf = field + "[" + std::to_string(j) + "]";
        if (!parts[j].is_object()) wrong_type(pf, "an object", parts[j]);
        const auto& p = parts[j].get_object();
        const auto* type = p.if_contains("type");
        if (type == nullptr || !type->is_string()) throw invalid_request("'" + pf + ".type' is required", pf + ".type");
        if (type->get_string() != "text") unsupported(pf, "Content of type '" + std::string(type->get_string()) + "'");
        const auto* t = p.if_contains("text");
        if (t == nullptr) throw invalid_request("'" + pf + ".text' is required", pf + ".text");
        if (j > 0) text += "\n";
        text += string(pf + ".text", *t);
    }
    return text;
}

json::array parse_messages(completion_request& r, const json::value& v, const parse_options& opt) {
    if (!v.is_array()) wrong_type("messages", "an array", v);
    const auto& in = v.get_array();
    if (in.empty()) throw invalid_request("'messages' must contain at least one message", "messages");
    json::array out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const std::string f = "messages[" + std::to_string(i) + "]";
        if (!in[i].is_object()) wrong_type(f, "an object", in[i]);
        const auto& m = in[i].get_object();
        json::object msg;
        const auto* role = m.if_contains("role");
        if (role == nullptr) throw invalid_request("'" + f + ".role' is required", f + ".role");
        std::string rl = string(f + ".role", *role);
        if (rl == "developer") rl = "system";  // OpenAI's newer name for the system role
        if (rl == "function") rl = "tool";  // the legacy name of a tool result
        if (rl != "system" && rl != "user" && rl != "assistant" && rl != "tool") {
            throw invalid_request("'" + f + ".role' must be one of system, developer, user, assistant, tool; got '" + rl + "'", f + ".role");
        }
        msg["role"] = rl;
        const auto* content = m.if_contains("content");
        // An assistant turn may have no text (OpenAI sends content: null next to tool calls).
        if ((content == nullptr || content->is_null()) && rl != "assistant") {
            throw invalid_request("'" + f + ".content' is required", f + ".content");
        }
        msg["content"] = content == nullptr || content->is_null() ? json::value(nullptr) : json::value(message_content(*content, f + ".content"));
        for (const auto& kv : m) {
            const std::string k(kv.key());
            if (k == "role" || k == "content") continue;
            if (k == "name") msg["name"] = string(f + ".name", kv.value());
            else if (k == "reasoning_content" && rl == "assistant") {
                // Earlier reasoning, for templates that render it (Qwen 3's does).
                if (!kv.value().is_null()) msg["reasoning_content"] = string(f + "." + k, kv.value());
            } else if (k == "tool_calls" && rl == "assistant") {
                if (!kv.value().is_null()) {
                    json::array calls = parse_tool_calls(kv.value(), f + ".tool_calls");
                    if (!calls.empty()) msg["tool_calls"] = std::move(calls);
                }
            } else if (k == "function_call" && rl == "assistant") {
                // Legacy: one call {name, arguments}.
                if (!kv.value().is_null()) {
                    json::array one{json::object{{"type", "function"}, {"function", kv.value()}}};
                    msg["tool_calls"] = parse_tool_calls(one, f + ".function_call");
                }
            } else if (k == "tool_call_id" && rl == "tool") {
                msg["tool_call_id"] = string(f + "." + k, kv.value());
            } else if (k == "refusal" || k == "audio") {
                if (!kv.value().is_null()) unsupported(f + "." + k, "'" + k + "' in messages");
            } else if (opt.strict_fields) {
                throw invalid_request("Unrecognized field '" + f + "." + k + "'", f + "." + k, "unknown_parameter");
            } else {
                r.ignored_fields.push_back(f + "." + k);
            }
        }
        // Null content stays null only next to tool calls (the shape templates are written
        // for); an assistant turn with neither is empty text.
        if (msg.at("content").is_null() && !msg.contains("tool_calls")) msg["content"] = "";
        out.push_back(std::move(msg));
    }
    return out;
}

}  // namespace

completion_request parse_chat_request(std::string_view body, const parse_options& opt) {
    const json::object o = parse_object(body);
    completion_request r;
    r.chat = true;
    bool stream_options_seen = false, logprobs = false, have_tools = false;
    std::optional<tools::tool_choice> choice;
    std::string choice_field;
    std::optional<int> top_logprobs;
    bool have_messages = false;
    for (const auto& kv : o) {
        const std::string key(kv.key());
        const json::value& v = kv.value();
        if (!admit_field(r.ignored_fields, key, v, k_chat, opt)) continue;
        if (common_field(r, key, v, stream_options_seen)) continue;
        if (key == "messages") {
            r.messages = parse_messages(r, v, opt);
            have_messages = true;
        } else if (key == "logprobs") {
            if (!v.is_null()) logprobs = boolean(key, v);
        } else if (key == "top_logprobs") {
            if (!v.is_null()) top_logprobs = static_cast<int>(integer(key, v, 0, 20));
        } else if (key == "tools" || key == "functions") {
            if (v.is_null()) continue;
            if (have_tools) throw invalid_request("Give either 'tools' or the legacy 'functions', not both", key);
            r.tools = parse_tools(v, key == "functions");
            have_tools = true;
            if (key == "functions") {
                r.legacy_functions = true;
                r.parallel_tool_calls = false;  // the legacy API has one function_call per message
            }
        } else if (key == "tool_choice" || key == "function_call") {
            if (v.is_null()) continue;
            if (choice) throw invalid_request("Give either 'tool_choice' or the legacy 'function_call', not both", key);
            choice = parse_tool_choice(v, key == "function_call");
            choice_field = key;
        } else if (key == "parallel_tool_calls") {
            if (!v.is_null()) r.parallel_tool_calls = boolean(key, v);
        } else if (key == "reasoning_format") {
            if (v.is_null()) continue;
            const std::string f = string(key, v);
            if (f != "none" && f != "auto" && f != "deepseek" && f != "deepseek-legacy") {
                throw invalid_request("'reasoning_format' must be one of none, auto, deepseek, deepseek-legacy; got '" + f + "'", key);
            }
            r.parse_reasoning = f != "none";
        } else if (key == "reasoning_effort") {
            if (v.is_null()) continue;
            r.reasoning_effort = string(key, v);
            static constexpr std::string_view efforts[] = {"none", "minimal", "low", "medium", "high", "xhigh"};
            if (std::find(std::begin(efforts), std::end(efforts), r.reasoning_effort) == std::end(efforts)) {
                throw invalid_request("'reasoning_effort' must be one of none, minimal, low, medium, high, xhigh; got '" + r.reasoning_effort + "'", key);
            }
        } else if (key == "modalities") {
            if (v.is_null()) continue;
            if (!v.is_array()) wrong_type(key, "an array", v);
            for (const auto& m : v.get_array()) {
                if (!m.is_string() || m.get_string() != "text") unsupported(key, "Output modalities other than text");
            }
        } else if (key == "chat_template_kwargs") {
            if (v.is_null()) continue;
            if (!v.is_object()) wrong_type(key, "an object", v);
            for (const auto& kw : v.get_object()) {
                if (kw.key() == "messages" || kw.key() == "add_generation_prompt") {
                    throw invalid_request("'chat_template_kwargs' may not set '" + std::string(kw.key()) + "'", key);
                }
            }
            r.template_kwargs = v.get_object();
        } else {
            unread_field(key);
        }
    }
    if (!have_messages) throw invalid_request("'messages' is required", "messages");
    if (choice) {
        if (choice->mode != tools::choice_mode::none && r.tools.empty()) {
            throw invalid_request("'" + choice_field + "' is only allowed when 'tools' are specified", choice_field);
        }
        if (choice->mode == tools::choice_mode::named &&
            std::none_of(r.tools.begin(), r.tools.end(), [&](const tools::tool_def& t) { return t.name == choice->name; })) {
            throw invalid_request("'" + choice_field + "' names the function '" + choice->name + "', which is not among the tools", choice_field);
        }
        r.tool_choice = *choice;
    } else if (!r.tools.empty()) {
        r.tool_choice.mode = tools::choice_mode::automatic;
    }
    if (top_logprobs && !logprobs) throw invalid_request("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
    if (logprobs) r.top_logprobs = top_logprobs.value_or(0);
    finish(r, stream_options_seen);
    return r;
}

completion_request parse_completion_request(std::string_view body, const parse_options& opt) {
    const json::object o = parse_object(body);
    completion_request r;
    r.chat = false;
    r.max_tokens = 16;  // the OpenAI default for legacy completions
    bool stream_options_seen = false, have_prompt = false;
    for (const auto& kv : o) {
        const std::string key(kv.key());
        const json::value& v = kv.value();
        if (!admit_field(r.ignored_fields, key, v, k_completions, opt)) continue;
        if (common_field(r, key, v, stream_options_seen)) continue;
        if (key == "prompt") {
            have_prompt = true;
            if (v.is_string()) {
                r.prompt = std::string(v.get_string());
            } else if (v.is_array() && v.get_array().size() == 1 && v.get_array()[0].is_string()) {
                r.prompt = std::string(v.get_array()[0].get_string());
            } else if (v.is_array() && !v.get_array().empty() && v.get_array()[0].is_number()) {
                for (std::size_t i = 0; i < v.get_array().size(); ++i) {
                    r.prompt_ids.push_back(static_cast<engine::token_id>(
                        integer("prompt[" + std::to_string(i) + "]", v.get_array()[i], 0, std::numeric_limits<engine::token_id>::max())));
                }
            } else if (v.is_array() && v.get_array().size() > 1) {
                unsupported(key, "A batch of several prompts");
            } else {
                wrong_type(key, "a string, an array of one string, or an array of token ids", v);
            }
        } else if (key == "logprobs") {
            if (!v.is_null()) r.top_logprobs = static_cast<int>(integer(key, v, 0, 20));
        } else if (key == "echo") {
            if (!v.is_null()) r.echo = boolean(key, v);
        } else if (key == "best_of") {
            if (!v.is_null() && integer(key, v, 1, 20) != 1) unsupported(key, "'best_of' above 1");
        } else {
            unread_field(key);
        }
    }
    if (!have_prompt) throw invalid_request("'prompt' is required", "prompt");
    finish(r, stream_options_seen);
    return r;
}

}  // namespace sluice::api
