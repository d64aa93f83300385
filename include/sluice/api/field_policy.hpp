// What sluice does with each request field of the OpenAI Chat Completions and Completions
// APIs (and llama-server's common extensions): one table, which docs/api.md mirrors.
//   honoured  - parsed, validated and applied;
//   ignored   - accepted and dropped because it cannot change the output here (metadata,
//               caching hints, routing);
//   refused   - would change the output in a way sluice does not support: a 400 naming
//               the field, never dropped.
// Many refused fields are refused only for values that would change the output (for
// example `n` above 1, `echo: true`, `mirostat` other than 0); the table's note says when.
// A field that is not in the table is accepted, ignored, logged and named in the
// `x-sluice-ignored-fields` response header, unless the server runs with --strict-fields.
#pragma once

#include <span>
#include <string_view>

namespace sluice::api {

enum class field_use { honoured, ignored, refused };

enum endpoint_mask : unsigned { k_chat = 1, k_completions = 2, k_both = 3 };

struct field_rule {
    std::string_view name;
    unsigned endpoints;    // endpoint_mask
    field_use use;
    std::string_view note;  // what sluice does with it (docs/api.md's "notes" column)
    // Refused fields: the values (JSON texts separated by '|') that change nothing and are
    // accepted, e.g. "0" for mirostat. null is always accepted.
    std::string_view neutral = {};
};

// Every top-level field the table knows, in docs order.
std::span<const field_rule> request_fields();

// The rule for `name` on an endpoint, or nullptr when the table does not list it there.
const field_rule* find_field(std::string_view name, endpoint_mask endpoint);

}  // namespace sluice::api
