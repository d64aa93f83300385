// What sluice does with each top-level request field, per protocol: the one source the
// validators consult, docs/api.md mirrors (a unit test compares) and GET /openapi.json is
// generated from (api/openapi.hpp), so the three cannot drift apart.
//   honoured  - parsed, validated and applied;
//   ignored   - accepted and dropped because it cannot change the output here (metadata,
//               caching hints, routing);
//   refused   - would change the output in a way sluice does not support: a 400 naming
//               the field, never dropped.
// Some honoured fields are refused only for values that would change the output (for
// example `best_of` above 1, `background: true`); the table's note says when. A field that
// is not in its protocol's table is accepted, ignored, logged and named in the
// `x-sluice-ignored-fields` response header, unless the server runs with --strict-fields.
//
// Tables:
//   request_fields()    OpenAI Chat Completions and Completions (and llama-server's
//                       common extensions); endpoints k_chat / k_completions / k_both;
//   messages_fields()   Anthropic Messages and count_tokens (endpoints k_messages);
//   responses_fields()  OpenAI Responses (endpoints k_responses).
#pragma once

#include <span>
#include <string_view>

namespace sluice::api {

enum class field_use { honoured, ignored, refused };

enum endpoint_mask : unsigned { k_chat = 1, k_completions = 2, k_both = 3, k_messages = 4, k_responses = 8 };

struct field_rule {
    std::string_view name;
    unsigned endpoints;    // endpoint_mask
    field_use use;
    // The JSON Schema (2020-12, as OpenAPI 3.1 uses) of the values the validator takes, as
    // JSON text: the request schemas of /openapi.json. Ranges match the validator's.
    std::string_view schema;
    std::string_view note;  // what sluice does with it (docs/api.md's "notes" column)
    // Refused fields: the values (JSON texts separated by '|') that change nothing and are
    // accepted, e.g. "0" for mirostat. null is always accepted.
    std::string_view neutral = {};
};

// Every top-level field of each table, in docs order.
std::span<const field_rule> request_fields();
std::span<const field_rule> messages_fields();
std::span<const field_rule> responses_fields();

// The rule for `name` on an endpoint (one bit of endpoint_mask), or nullptr when its table
// does not list it there.
const field_rule* find_field(std::string_view name, endpoint_mask endpoint);

}  // namespace sluice::api
