#include "openapi_shapes.hpp"

namespace sluice::api::detail {

namespace {

// $refs point into the same components.schemas.
constexpr std::string_view k_shapes = R"json({
"OpenAIError": {"type": "object", "required": ["error"], "description": "The error envelope of every route except the Anthropic ones.",
  "properties": {"error": {"type": "object", "required": ["message", "type"], "properties": {
    "message": {"type": "string"},
    "type": {"type": "string", "examples": ["invalid_request_error", "authentication_error", "rate_limit_error", "server_error"]},
    "param": {"type": ["string", "null"], "description": "the offending field, as a path"},
    "code": {"type": ["string", "null"], "examples": ["unsupported_parameter", "unknown_parameter", "context_length_exceeded", "response_not_found"]},
    "request_id": {"type": "string", "description": "the request's id, as in the X-Request-Id response header"}}}}},
"AnthropicError": {"type": "object", "required": ["type", "error"], "description": "The error envelope of /v1/messages and /v1/messages/count_tokens.",
  "properties": {"type": {"const": "error"}, "request_id": {"type": "string", "description": "the request's id, as in the X-Request-Id response header"},
    "error": {"type": "object", "required": ["type", "message"], "properties": {
    "type": {"enum": ["invalid_request_error", "authentication_error", "permission_error", "not_found_error", "request_too_large", "rate_limit_error", "api_error", "overloaded_error"]},
      "message": {"type": "string"}}}}},
"ToolCall": {"type": "object", "properties": {"id": {"type": "string"}, "type": {"const": "function"},
  "function": {"type": "object", "properties": {"name": {"type": "string"}, "arguments": {"type": "string", "description": "the arguments as JSON text"}}}}},
"Usage": {"type": "object", "properties": {"prompt_tokens": {"type": "integer"}, "completion_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"},
  "prompt_tokens_details": {"type": "object", "properties": {"cached_tokens": {"type": "integer", "description": "prompt tokens whose KV came from the prefix cache"}}},
  "completion_tokens_details": {"type": "object", "properties": {"reasoning_tokens": {"type": "integer"}}}}},
"ChatCompletion": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^chatcmpl-"}, "object": {"const": "chat.completion"},
  "created": {"type": "integer"}, "model": {"type": "string"},
  "choices": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"},
    "message": {"type": "object", "properties": {"role": {"const": "assistant"}, "content": {"type": ["string", "null"]},
      "reasoning_content": {"type": "string"}, "tool_calls": {"type": "array", "items": {"$ref": "#/components/schemas/ToolCall"}},
      "function_call": {"type": "object", "description": "with the legacy functions"}}},
    "finish_reason": {"enum": ["stop", "length", "tool_calls", "function_call"]}, "logprobs": {"type": ["object", "null"]}}}},
  "usage": {"$ref": "#/components/schemas/Usage"}}},
"Completion": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^cmpl-"}, "object": {"const": "text_completion"},
  "created": {"type": "integer"}, "model": {"type": "string"},
  "choices": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"}, "text": {"type": "string"},
    "finish_reason": {"enum": ["stop", "length"]}, "logprobs": {"type": ["object", "null"]}}}},
  "usage": {"$ref": "#/components/schemas/Usage"}}},
"Message": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^msg_"}, "type": {"const": "message"}, "role": {"const": "assistant"},
  "model": {"type": "string"},
  "content": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["text", "thinking", "tool_use"]},
    "text": {"type": "string"}, "thinking": {"type": "string"}, "signature": {"type": "string"}, "id": {"type": "string"}, "name": {"type": "string"}, "input": {"type": "object"}}}},
  "stop_reason": {"enum": ["end_turn", "max_tokens", "stop_sequence", "tool_use"]}, "stop_sequence": {"type": ["string", "null"]},
  "usage": {"type": "object", "properties": {"input_tokens": {"type": "integer", "description": "prompt tokens not read from the cache"},
    "output_tokens": {"type": "integer"}, "cache_read_input_tokens": {"type": "integer"}, "cache_creation_input_tokens": {"type": "integer"}}}}},
"InputTokens": {"type": "object", "required": ["input_tokens"], "properties": {"input_tokens": {"type": "integer", "description": "the rendered prompt's length"}}},
"Response": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^resp_"}, "object": {"const": "response"}, "created_at": {"type": "integer"},
  "status": {"enum": ["completed", "incomplete", "failed", "in_progress"]},
  "incomplete_details": {"type": ["object", "null"], "properties": {"reason": {"const": "max_output_tokens"}}},
  "model": {"type": "string"}, "previous_response_id": {"type": ["string", "null"]},
  "output": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["message", "function_call", "reasoning"]},
    "id": {"type": "string"}, "role": {"const": "assistant"}, "content": {"type": "array", "items": {"type": "object"}},
    "call_id": {"type": "string"}, "name": {"type": "string"}, "arguments": {"type": "string"}}}},
  "usage": {"type": "object", "properties": {"input_tokens": {"type": "integer"},
    "input_tokens_details": {"type": "object", "properties": {"cached_tokens": {"type": "integer"}}}, "output_tokens": {"type": "integer"},
    "output_tokens_details": {"type": "object", "properties": {"reasoning_tokens": {"type": "integer"}}}, "total_tokens": {"type": "integer"}}}}},
"DeletedResponse": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "response"}, "deleted": {"const": true}}},
"InputItemList": {"type": "object", "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {"type": "object"}},
  "first_id": {"type": ["string", "null"]}, "last_id": {"type": ["string", "null"]}, "has_more": {"type": "boolean"}}},
"Model": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "model"}, "created": {"type": "integer"}, "owned_by": {"type": "string"},
  "context_length": {"type": "integer", "description": "the longest request (prompt + completion) the server takes"}}},
"ModelList": {"type": "object", "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {"$ref": "#/components/schemas/Model"}}}},
"Health": {"type": "object", "properties": {"status": {"const": "ok"}}},
"TokenizeRequest": {"type": "object", "required": ["content"], "properties": {"content": {"type": "string"},
  "add_special": {"type": "boolean", "default": false}, "parse_special": {"type": "boolean", "default": true}, "with_pieces": {"type": "boolean", "default": false}}},
"TokenizeResponse": {"type": "object", "properties": {"tokens": {"type": "array", "items": {"oneOf": [{"type": "integer"},
  {"type": "object", "properties": {"id": {"type": "integer"}, "piece": {"type": "string"}}}]}}}},
"DetokenizeRequest": {"type": "object", "required": ["tokens"], "properties": {"tokens": {"type": "array", "items": {"type": "integer", "minimum": 0}}}},
"DetokenizeResponse": {"type": "object", "properties": {"content": {"type": "string"}}},
"ApplyTemplateResponse": {"type": "object", "properties": {"prompt": {"type": "string", "description": "the text the model would see"}}}
})json";

}  // namespace

std::string_view openapi_shapes() { return k_shapes; }

}  // namespace sluice::api::detail
