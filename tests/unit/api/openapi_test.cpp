// GET /openapi.json's document: valid OpenAPI 3.1 in the parts a client reads, every
// operation, every row of the field tables in its request schema, both error envelopes.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <string>

#include "sluice/api/field_policy.hpp"
#include "sluice/api/openapi.hpp"

namespace {

namespace json = boost::json;
using namespace sluice::api;

const json::object& doc() {
    static const json::object d = json::parse(openapi_json()).as_object();
    return d;
}

const json::object& component(const char* kind, const std::string& name) {
    return doc().at("components").at(kind).at(name).as_object();
}

// Every "$ref" under `v`, collected.
void collect_refs(const json::value& v, std::set<std::string>& out) {
    if (v.is_object()) {
        for (const auto& kv : v.get_object()) {
            if (kv.key() == "$ref" && kv.value().is_string()) out.insert(std::string(kv.value().get_string()));
            collect_refs(kv.value(), out);
        }
    } else if (v.is_array()) {
        for (const auto& x : v.get_array()) collect_refs(x, out);
    }
}

TEST(openapi, is_an_openapi_3_1_document) {
    const auto& d = doc();
    EXPECT_TRUE(std::string(d.at("openapi").as_string()).starts_with("3.1.")) << d.at("openapi");
    EXPECT_FALSE(d.at("info").at("title").as_string().empty());
    EXPECT_FALSE(d.at("info").at("version").as_string().empty());
    EXPECT_EQ(json::serialize(openapi_document()), openapi_json());
}

// A hand-written structural check of what OpenAPI 3.1 requires of what the document uses.
TEST(openapi, has_a_valid_structure) {
    static const std::set<std::string> methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
    std::set<std::string> operation_ids;
    for (const auto& [path, item] : doc().at("paths").as_object()) {
        ASSERT_TRUE(std::string(path).starts_with("/")) << path;
        for (const auto& [method, opv] : item.as_object()) {
            ASSERT_TRUE(methods.contains(std::string(method))) << path << " " << method;
            const auto& op = opv.as_object();
            EXPECT_TRUE(operation_ids.insert(std::string(op.at("operationId").as_string())).second) << "duplicate operationId";
            const auto& responses = op.at("responses").as_object();
            ASSERT_TRUE(responses.contains("200")) << path;
            for (const auto& [status, r] : responses) {
                EXPECT_TRUE(r.as_object().at("description").is_string()) << path << " " << status;
                EXPECT_TRUE(status == "default" || (status.size() == 3 && status[0] >= '1' && status[0] <= '5')) << status;
            }
            // Every {param} of the path template is declared as a required path parameter.
            std::set<std::string> declared;
            if (const auto* ps = op.if_contains("parameters")) {
                for (const auto& p : ps->as_array()) {
                    const std::string in(p.at("in").as_string());
                    EXPECT_TRUE(in == "path" || in == "query" || in == "header" || in == "cookie") << in;
                    if (in == "path") {
                        EXPECT_TRUE(p.at("required").as_bool());
                        declared.insert(std::string(p.at("name").as_string()));
                    }
                }
            }
            const std::string p(path);
            for (auto open = p.find('{'); open != std::string::npos; open = p.find('{', open + 1)) {
                EXPECT_TRUE(declared.contains(p.substr(open + 1, p.find('}', open) - open - 1))) << path;
            }
            if (const auto* sec = op.if_contains("security")) {
                for (const auto& req : sec->as_array()) {
                    for (const auto& kv : req.as_object()) EXPECT_TRUE(doc().at("components").at("securitySchemes").as_object().contains(kv.key()));
                }
            }
        }
    }
    for (const auto& req : doc().at("security").as_array()) {
        for (const auto& kv : req.as_object()) EXPECT_TRUE(doc().at("components").at("securitySchemes").as_object().contains(kv.key()));
    }
    std::set<std::string> refs;
    collect_refs(doc(), refs);
    EXPECT_FALSE(refs.empty());
    for (const auto& ref : refs) {
        ASSERT_TRUE(ref.starts_with("#/components/schemas/")) << ref;
        EXPECT_TRUE(doc().at("components").at("schemas").as_object().contains(ref.substr(21))) << ref;
    }
}

TEST(openapi, lists_every_operation_with_its_auth) {
    for (const auto& op : api_operations()) {
        const auto* item = doc().at("paths").as_object().if_contains(op.path);
        ASSERT_NE(item, nullptr) << op.path;
        const auto* o = item->as_object().if_contains(op.method);
        ASSERT_NE(o, nullptr) << op.path << " " << op.method;
        const auto* sec = o->as_object().if_contains("security");
        EXPECT_EQ(!op.needs_key, sec != nullptr && sec->as_array().empty()) << op.path;
    }
    for (const char* path : {"/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/messages/count_tokens", "/v1/responses",
                             "/v1/responses/{id}", "/v1/responses/{id}/input_items", "/v1/models", "/tokenize", "/detokenize",
                             "/apply-template", "/livez", "/health", "/metrics", "/openapi.json", "/docs"}) {
        EXPECT_TRUE(doc().at("paths").as_object().contains(path)) << path;
    }
    EXPECT_TRUE(doc().at("paths").at("/v1/responses/{id}").as_object().contains("delete"));
    const auto& schemes = doc().at("components").at("securitySchemes");
    EXPECT_EQ(schemes.at("bearer").at("scheme"), "bearer");
    EXPECT_EQ(schemes.at("x-api-key").at("name"), "x-api-key");
}

// Every row of each table is a property of its request schema, with the row's policy and note.
TEST(openapi, request_schemas_carry_every_table_row) {
    struct check {
        const char* schema;
        std::span<const field_rule> table;
        unsigned endpoint;
    };
    const check checks[] = {{"ChatCompletionRequest", request_fields(), k_chat},
                            {"CompletionRequest", request_fields(), k_completions},
                            {"MessagesRequest", messages_fields(), k_messages},
                            {"CountTokensRequest", messages_fields(), k_messages},
                            {"ResponsesRequest", responses_fields(), k_responses}};
    for (const auto& c : checks) {
        const auto& props = component("schemas", c.schema).at("properties").as_object();
        std::size_t rows = 0;
        for (const auto& f : c.table) {
            if ((f.endpoints & c.endpoint) == 0) continue;
            ++rows;
            const auto* p = props.if_contains(f.name);
            ASSERT_NE(p, nullptr) << c.schema << "." << f.name;
            EXPECT_EQ(p->at("description"), json::value(f.note)) << f.name;
            const char* use = f.use == field_use::honoured ? "honoured" : f.use == field_use::ignored ? "ignored" : "refused";
            EXPECT_EQ(p->at("x-sluice-use"), use) << f.name;
            EXPECT_TRUE(p->as_object().contains("type") || p->as_object().contains("oneOf") || p->as_object().contains("enum") ||
                        p->as_object().contains("const"))
                << c.schema << "." << f.name << " has no type";
        }
        EXPECT_EQ(props.size(), rows) << c.schema << ": a property that is no row of its table";
    }
    const auto& chat = component("schemas", "ChatCompletionRequest");
    EXPECT_EQ(chat.at("required"), json::array{"messages"});
    EXPECT_EQ(component("schemas", "MessagesRequest").at("required"), (json::array{"model", "messages", "max_tokens"}));
    EXPECT_EQ(component("schemas", "CompletionRequest").at("properties").at("mirostat").at("x-sluice-accepted-values"), json::array{0});
}

TEST(openapi, error_envelopes_are_described) {
    const auto& openai = component("schemas", "OpenAIError").at("properties").at("error").at("properties").as_object();
    for (const char* k : {"message", "type", "param", "code"}) EXPECT_TRUE(openai.contains(k)) << k;
    const auto& anthropic = component("schemas", "AnthropicError");
    EXPECT_EQ(anthropic.at("properties").at("type").at("const"), "error");
    EXPECT_TRUE(anthropic.at("properties").at("error").at("properties").as_object().contains("message"));
    const auto& messages_400 = doc().at("paths").at("/v1/messages").at("post").at("responses").at("400");
    EXPECT_EQ(messages_400.at("content").at("application/json").at("schema").at("$ref"), "#/components/schemas/AnthropicError");
    const auto& chat_400 = doc().at("paths").at("/v1/chat/completions").at("post").at("responses").at("400");
    EXPECT_EQ(chat_400.at("content").at("application/json").at("schema").at("$ref"), "#/components/schemas/OpenAIError");
}

}  // namespace
