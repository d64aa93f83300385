// The parts of /openapi.json that no request table describes: answer objects, the
// utility endpoints' bodies and the two error envelopes, as JSON Schema text
// (components.schemas of the document, keyed by name). Kept beside the encoders' shapes
// in docs/api.md; the request bodies come from api/field_policy.hpp.
#pragma once

#include <string_view>

namespace sluice::api::detail {

// A JSON object text: schema name -> JSON Schema.
std::string_view openapi_shapes();

}  // namespace sluice::api::detail
