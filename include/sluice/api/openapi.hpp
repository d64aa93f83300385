// GET /openapi.json: an OpenAPI 3.1 description of every route sluice serves, built from
// the request-field tables the validators consult (api/field_policy.hpp), so the document
// cannot drift from what the server accepts. Each request property carries its table row:
// the JSON Schema of its values, the note as `description` and the policy as the
// extension `x-sluice-use` (honoured, ignored, refused). The document is static: it names
// no model, key or setting of the running server, so it may be served without a key.
#pragma once

#include <boost/json/object.hpp>
#include <span>
#include <string>
#include <string_view>

namespace sluice::api {

// One operation of the document: what the router must serve (http's tests compare).
struct api_operation {
    std::string_view path;    // OpenAPI path template, e.g. "/v1/responses/{id}"
    std::string_view method;  // lower case, as OpenAPI keys operations: "get", "post", "delete"
    bool needs_key;           // false: answered without an API key
};

// Every operation, in document order.
std::span<const api_operation> api_operations();

// The document, built afresh (tests); openapi_json() is it serialised once, for serving.
boost::json::object openapi_document();
const std::string& openapi_json();

}  // namespace sluice::api
