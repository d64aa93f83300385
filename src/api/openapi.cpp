#include "sluice/api/openapi.hpp"

#include <array>
#include <boost/json.hpp>

#include "openapi_shapes.hpp"
#include "sluice/api/field_policy.hpp"

namespace sluice::api {
namespace {

namespace json = boost::json;

// How the document describes one operation beyond api_operation.
struct operation_spec {
    api_operation op;
    std::string_view tag;
    std::string_view summary;
    std::string_view body;         // components.schemas name of the JSON request body; "" for none
    std::string_view answer;       // components.schemas name of the JSON 200 answer; "" when not JSON
    std::string_view answer_type;  // media type of the 200 answer
    bool streams = false;          // with stream: true, text/event-stream instead
    bool anthropic = false;        // errors in Anthropic's envelope
};

constexpr std::string_view k_json = "application/json";

constexpr auto k_operations = std::to_array<operation_spec>({
    {{"/health", "get", false}, "server", "Readiness: 200 when the model is loaded and the server is not draining, else 503", "", "Health", k_json},
    {{"/livez", "get", false}, "server", "Liveness: 200 while the process runs (loading and draining too)", "", "Health", k_json},
    {{"/openapi.json", "get", false}, "server", "This document", "", "", k_json},
    {{"/docs", "get", false}, "server", "A page rendering this document (no external resources)", "", "", "text/html"},
    {{"/metrics", "get", true}, "server", "Prometheus metrics", "", "", "text/plain"},
    {{"/v1/models", "get", true}, "openai", "The served model", "", "ModelList", k_json},
    {{"/v1/models/{id}", "get", true}, "openai", "The served model by id (404 model_not_found for another)", "", "Model", k_json},
    {{"/v1/chat/completions", "post", true}, "openai", "Chat Completions", "ChatCompletionRequest", "ChatCompletion", k_json, true},
    {{"/v1/completions", "post", true}, "openai", "Completions", "CompletionRequest", "Completion", k_json, true},
    {{"/v1/responses", "post", true}, "openai", "Responses (stored under --data-dir unless store is false)", "ResponsesRequest", "Response", k_json, true},
    {{"/v1/responses/{id}", "get", true}, "openai", "A stored response (only to the key that stored it)", "", "Response", k_json},
    {{"/v1/responses/{id}", "delete", true}, "openai", "Delete a stored response", "", "DeletedResponse", k_json},
    {{"/v1/responses/{id}/input_items", "get", true}, "openai", "A stored response's input items", "", "InputItemList", k_json},
    {{"/v1/messages", "post", true}, "anthropic", "Anthropic Messages (also ?beta=true)", "MessagesRequest", "Message", k_json, true, true},
    {{"/v1/messages/count_tokens", "post", true}, "anthropic", "Count a Messages request's prompt tokens", "CountTokensRequest", "InputTokens", k_json, false, true},
    {{"/tokenize", "post", true}, "llama-server", "Text to token ids", "TokenizeRequest", "TokenizeResponse", k_json},
    {{"/detokenize", "post", true}, "llama-server", "Token ids to text", "DetokenizeRequest", "DetokenizeResponse", k_json},
    {{"/apply-template", "post", true}, "llama-server", "A chat request rendered with the model's template", "ChatCompletionRequest", "ApplyTemplateResponse", k_json},
});

constexpr std::array<api_operation, k_operations.size()> k_public_view = [] {
    std::array<api_operation, k_operations.size()> out{};
    for (std::size_t i = 0; i < k_operations.size(); ++i) out[i] = k_operations[i].op;
    return out;
}();

const char* use_name(field_use u) {
    switch (u) {
        case field_use::honoured: return "honoured";
        case field_use::ignored: return "ignored";
        case field_use::refused: return "refused";
    }
    return "";
}

// A request body's schema from a field table: one property per row on `endpoint`.
json::object request_schema(std::span<const field_rule> table, unsigned endpoint, std::initializer_list<std::string_view> required,
                            std::string_view description) {
    json::object props;
    for (const auto& f : table) {
        if ((f.endpoints & endpoint) == 0) continue;
        json::object p = json::parse(f.schema).as_object();
        p["description"] = f.note;
        p["x-sluice-use"] = use_name(f.use);
        if (f.use == field_use::refused) {
            json::array neutral;
            for (std::string_view rest = f.neutral; !rest.empty();) {
                const auto bar = rest.find('|');
                neutral.push_back(json::parse(rest.substr(0, bar)));
                rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
            }
            p["x-sluice-accepted-values"] = std::move(neutral);  // besides null
        }
        props[f.name] = std::move(p);
    }
    json::array req;
    for (const auto r : required) req.push_back(json::string(r));
    return {{"type", "object"},
            {"description", description},
            {"required", std::move(req)},
            {"properties", std::move(props)},
            {"additionalProperties", true}};
}

constexpr std::string_view k_unknown =
    " Fields not listed are accepted, ignored and named in the x-sluice-ignored-fields response header "
    "(400 unknown_parameter under --strict-fields).";

json::object schemas() {
    json::object s = json::parse(detail::openapi_shapes()).as_object();
    const std::string unknown(k_unknown);
    s["ChatCompletionRequest"] = request_schema(request_fields(), k_chat, {"messages"}, "OpenAI Chat Completions request." + unknown);
    s["CompletionRequest"] = request_schema(request_fields(), k_completions, {"prompt"}, "OpenAI Completions request." + unknown);
    s["MessagesRequest"] = request_schema(messages_fields(), k_messages, {"model", "messages", "max_tokens"}, "Anthropic Messages request." + unknown);
    s["CountTokensRequest"] = request_schema(messages_fields(), k_messages, {"model", "messages"},
                                             "A Messages request whose prompt is counted; max_tokens is not required." + unknown);
    s["ResponsesRequest"] = request_schema(responses_fields(), k_responses, {}, "OpenAI Responses request; input is required unless previous_response_id is given." + unknown);
    return s;
}

json::object media(std::string_view type, std::string_view schema_name) {
    json::object m;
    if (!schema_name.empty()) m["schema"] = json::object{{"$ref", "#/components/schemas/" + std::string(schema_name)}};
    else m["schema"] = json::object{{"type", type == k_json ? "object" : "string"}};
    return json::object{{type, std::move(m)}};
}

json::object error_answer(std::string_view description, bool anthropic) {
    return {{"description", description}, {"content", media(k_json, anthropic ? "AnthropicError" : "OpenAIError")}};
}

// "post" "/v1/responses/{id}" -> "post_v1_responses_id": an identifier for client generators.
std::string operation_id(const api_operation& op) {
    std::string id(op.method);
    bool gap = true;
    for (const char c : op.path) {
        const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (word && gap) id += '_';
        if (word) id += c;
        gap = !word;
    }
    return id;
}

json::object operation(const operation_spec& s) {
    json::object op{{"tags", json::array{json::string(s.tag)}}, {"summary", s.summary}, {"operationId", operation_id(s.op)}};
    json::array params;
    if (s.op.path.find("{id}") != std::string_view::npos) {
        params.push_back(json::object{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", json::object{{"type", "string"}}}});
    }
    if (s.anthropic) {
        params.push_back(json::object{{"name", "anthropic-version"}, {"in", "header"}, {"required", false},
                                      {"description", "accepted, any version"}, {"schema", json::object{{"type", "string"}}}});
    }
    if (s.op.path == "/v1/messages") {
        params.push_back(json::object{{"name", "beta"}, {"in", "query"}, {"required", false}, {"schema", json::object{{"type", "boolean"}}}});
    }
    if (!params.empty()) op["parameters"] = std::move(params);
    if (!s.body.empty()) op["requestBody"] = json::object{{"required", true}, {"content", media(k_json, s.body)}};
    json::object ok{{"description", s.streams ? "JSON, or with stream: true server-sent events (text/event-stream)" : "OK"}};
    json::object content = media(s.answer_type, s.answer);
    if (s.streams) content["text/event-stream"] = json::object{{"schema", json::object{{"type", "string"}}}};
    ok["content"] = std::move(content);
    json::object answers{{"200", std::move(ok)}};
    if (!s.body.empty()) answers["400"] = error_answer("Invalid request: the message names the field, param its path", s.anthropic);
    if (s.op.needs_key) {
        answers["401"] = error_answer("Missing or wrong API key (when keys are configured)", s.anthropic);
        answers["429"] = error_answer("Rate limited (Retry-After)", s.anthropic);
    }
    if (s.op.path.find("{id}") != std::string_view::npos) answers["404"] = error_answer("No such model or response", s.anthropic);
    answers["default"] = error_answer("Other errors: 405, 413, 415, 503 (loading, draining, at capacity; Retry-After), 500", s.anthropic);
    op["responses"] = std::move(answers);
    if (!s.op.needs_key) op["security"] = json::array{};
    return op;
}

}  // namespace

std::span<const api_operation> api_operations() { return k_public_view; }

json::object openapi_document() {
    json::object paths;
    for (const auto& s : k_operations) {
        json::value& item = paths[s.op.path];
        if (!item.is_object()) item = json::object{};
        item.as_object()[s.op.method] = operation(s);
    }
    json::object info{{"title", "sluice"},
                      {"version", SLUICE_VERSION_STRING},
                      {"description",
                       "A local LLM inference server speaking OpenAI Chat Completions, Completions and Responses, Anthropic Messages and "
                       "llama-server's utility endpoints. HEAD answers like GET on every route. /v1/chat/completions, /v1/completions, "
                       "/v1/responses and /v1/models also answer without the /v1 prefix. Request properties carry x-sluice-use: honoured (applied), ignored (accepted, cannot "
                       "change a local generation) or refused (400 unsupported_parameter unless null or an x-sluice-accepted-values value)."}};
    json::object security{
        {"bearer", json::object{{"type", "http"}, {"scheme", "bearer"}, {"description", "Required only when the server runs with API keys."}}},
        {"x-api-key", json::object{{"type", "apiKey"}, {"in", "header"}, {"name", "x-api-key"}, {"description", "Anthropic's header; the same keys."}}}};
    return {{"openapi", "3.1.0"},
            {"info", std::move(info)},
            {"tags", json::array{json::object{{"name", "openai"}, {"description", "OpenAI-compatible"}},
                                 json::object{{"name", "anthropic"}, {"description", "Anthropic-compatible"}},
                                 json::object{{"name", "llama-server"}, {"description", "llama-server's utility endpoints"}},
                                 json::object{{"name", "server"}, {"description", "Health, metrics, this description"}}}},
            {"security", json::array{json::object{{"bearer", json::array{}}}, json::object{{"x-api-key", json::array{}}}}},
            {"paths", std::move(paths)},
            {"components", json::object{{"schemas", schemas()}, {"securitySchemes", std::move(security)}}}};
}

const std::string& openapi_json() {
    static const std::string text = json::serialize(openapi_document());
    return text;
}

}  // namespace sluice::api
