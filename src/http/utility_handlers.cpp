// llama-server's utility endpoints, in its shapes:
//   POST /tokenize      {"content", "add_special": false, "parse_special": true, "with_pieces": false}
//                       -> {"tokens": [ids]} or, with_pieces, {"tokens": [{"id", "piece"}]}
//   POST /detokenize    {"tokens": [ids]} -> {"content"}
//   POST /apply-template  a chat request body -> {"prompt"}: the text the model would see
#include <boost/json.hpp>

#include "chat_prompt.hpp"
#include "connection.hpp"
#include "sluice/api/completion_request.hpp"
#include "sluice/api/json_body.hpp"
#include "sluice/util/utf8.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;

json::object body_object(const exchange& ex) {
    json::value v = api::parse_json_body(ex.req.body());
    if (!v.is_object()) throw api::invalid_request("The request body must be a JSON object");
    return std::move(v.as_object());
}

bool flag(const json::object& o, const char* key, bool fallback) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_bool()) throw api::invalid_request(std::string("'") + key + "' must be a boolean", key);
    return v->get_bool();
}

std::string tokenize_body(const server_state& st, const json::object& o) {
    const auto* content = o.if_contains("content");
    if (content == nullptr || !content->is_string()) throw api::invalid_request("'content' must be a string", "content");
    if (content->get_string().size() > st.config.max_body) throw api::invalid_request("'content' is too long", "content");
    const auto& tok = *st.model.tokenizer;
    const auto ids = tok.tokenize(std::string_view(content->get_string()), flag(o, "add_special", false), flag(o, "parse_special", true));
    json::array out;
    const bool pieces = flag(o, "with_pieces", false);
    for (const auto id : ids) {
        if (pieces) {
            out.push_back(json::object{{"id", id}, {"piece", utf8::sanitize(tok.piece(id))}});
        } else {
            out.push_back(id);
        }
    }
    return json::serialize(json::object{{"tokens", std::move(out)}});
}

std::string detokenize_body(const server_state& st, const json::object& o) {
    const auto* tokens = o.if_contains("tokens");
    if (tokens == nullptr || !tokens->is_array()) throw api::invalid_request("'tokens' must be an array of token ids", "tokens");
    const auto& tok = *st.model.tokenizer;
    std::vector<engine::token_id> ids;
    for (std::size_t i = 0; i < tokens->get_array().size(); ++i) {
        const auto& t = tokens->get_array()[i];
        if (!t.is_int64() || !tok.get_vocab().contains(static_cast<engine::token_id>(t.get_int64())) || t.get_int64() < 0 ||
            t.get_int64() > std::numeric_limits<engine::token_id>::max()) {
            throw api::invalid_request("'tokens[" + std::to_string(i) + "]' is not a token id of this model", "tokens");
        }
        ids.push_back(static_cast<engine::token_id>(t.get_int64()));
    }
    return json::serialize(json::object{{"content", utf8::sanitize(tok.detokenize(ids, false, true))}});
}

std::string apply_template_body(server_state& st, const exchange& ex) {
    const auto r = api::parse_chat_request(ex.req.body(), api::parse_options{st.config.strict_fields});
    const json::object vars = chat_variables(r, st.model.format);
    std::string prompt;
    try {
        prompt = render_guarded(*st.model.chat, vars, *st.model.tokenizer).text;
    } catch (const chat::template_error& e) {
        throw api::invalid_request(std::string("The model's chat template rejected these messages: ") + e.what(), "messages");
    }
    return json::serialize(json::object{{"prompt", prompt}});
}

}  // namespace

response handle_utility(server_state& st, exchange& ex, std::string_view endpoint) {
    std::string body;
    if (endpoint == "/tokenize") body = tokenize_body(st, body_object(ex));
    else if (endpoint == "/detokenize") body = detokenize_body(st, body_object(ex));
    else body = apply_template_body(st, ex);
    return json_response(ex, 200, std::move(body));
}

}  // namespace sluice::http::detail
