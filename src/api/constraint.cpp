#include "sluice/api/constraint.hpp"

#include <boost/json.hpp>

#include "sluice/api/api_error.hpp"
#include "sluice/grammar/json_schema.hpp"
#include "sluice/grammar/matcher.hpp"

namespace sluice::api {
namespace {

namespace json = boost::json;

const json::value* member(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
}

// OpenAI's rule for json_schema.name: a-z, A-Z, 0-9, underscores and dashes, at most 64.
bool valid_schema_name(std::string_view n) {
    if (n.empty() || n.size() > 64) return false;
    for (const char c : n) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
    }
    return true;
}

std::string cache_key(const constraint_spec& spec) {
    switch (spec.type) {
        case constraint_spec::kind::none: return {};
        case constraint_spec::kind::json_object: return "o";
        case constraint_spec::kind::json_schema: return "s" + json::serialize(spec.schema);
        case constraint_spec::kind::gbnf: return "g" + spec.gbnf;
    }
    return {};
}

}  // namespace

constraint_spec parse_response_format(const json::value& v) {
    constraint_spec spec;
    spec.field = "response_format";
    if (v.is_null()) return spec;
    if (!v.is_object()) throw invalid_request("'response_format' must be an object", "response_format");
    const auto& o = v.get_object();
    const auto* type = member(o, "type");
    if (type == nullptr || !type->is_string()) throw invalid_request("'response_format.type' is required", "response_format.type");
    const std::string_view t = type->get_string();
    if (t == "text") return spec;
    if (t == "json_object") {
        spec.type = constraint_spec::kind::json_object;
        return spec;
    }
    if (t != "json_schema") {
        throw invalid_request("'response_format.type' must be text, json_object or json_schema, got '" + std::string(t) + "'",
                              "response_format.type");
    }
    const auto* js = member(o, "json_schema");
    if (js == nullptr || !js->is_object()) {
        throw invalid_request("'response_format.json_schema' is required for type json_schema", "response_format.json_schema");
    }
    const auto& jo = js->get_object();
    const auto* name = member(jo, "name");
    if (name == nullptr || !name->is_string() || !valid_schema_name(name->get_string())) {
        throw invalid_request("'response_format.json_schema.name' is required: 1-64 of a-z, A-Z, 0-9, _ and -",
                              "response_format.json_schema.name");
    }
    if (const auto* strict = member(jo, "strict"); strict != nullptr && !strict->is_bool()) {
        throw invalid_request("'response_format.json_schema.strict' must be a boolean", "response_format.json_schema.strict");
    }
    const auto* schema = member(jo, "schema");
    if (schema == nullptr) {  // no schema: any JSON object, as json_object
        spec.type = constraint_spec::kind::json_object;
        return spec;
    }
    if (!schema->is_object() && !schema->is_bool()) {
        throw invalid_request("'response_format.json_schema.schema' must be a JSON Schema (an object or a boolean)",
                              "response_format.json_schema.schema");
    }
    spec.type = constraint_spec::kind::json_schema;
    spec.schema = *schema;
    spec.field = "response_format.json_schema.schema";
    return spec;
}

std::shared_ptr<const grammar::grammar> compile_constraint(const constraint_spec& spec) {
    try {
        switch (spec.type) {
            case constraint_spec::kind::none: return nullptr;
            case constraint_spec::kind::json_object: return grammar::parse_gbnf(grammar::json_object_grammar());
            case constraint_spec::kind::json_schema: return grammar::parse_gbnf(grammar::compile_json_schema(spec.schema));
            case constraint_spec::kind::gbnf: return grammar::parse_gbnf(spec.gbnf);
        }
    } catch (const grammar::schema_error& e) {
        const std::string where = e.pointer.empty() ? std::string("the schema") : "'" + e.pointer + "'";
        throw invalid_request("Unsupported or invalid JSON Schema at " + where + (e.keyword.empty() ? "" : " ('" + e.keyword + "')") +
                                  ": " + e.what(),
                              spec.field, e.keyword.empty() ? "invalid_schema" : "unsupported_schema_keyword");
    } catch (const grammar::grammar_error& e) {
        // A schema compiles to GBNF that parses; a grammar error there is ours, but still the
        // request's problem to report (e.g. a limit), never a crash.
        std::string msg = spec.type == constraint_spec::kind::gbnf ? "Invalid grammar: " : "The schema's grammar is too large: ";
        msg += e.what();
        throw invalid_request(msg, spec.field, "invalid_grammar");
    }
    return nullptr;
}

std::shared_ptr<const grammar::grammar> grammar_cache::get(const constraint_spec& spec,
                                                           const std::shared_ptr<const grammar::token_vocabulary>& vocab) {
    if (spec.type == constraint_spec::kind::none) return nullptr;
    const std::string key = cache_key(spec);
    {
        std::lock_guard lock(mutex_);
        if (const auto it = index_.find(key); it != index_.end()) {
            lru_.splice(lru_.begin(), lru_, it->second);
            return it->second->second;
        }
    }
    auto g = compile_constraint(spec);  // outside the lock: compiling may take milliseconds
    if (vocab) {
        try {
            grammar::matcher warm(g, vocab);
            std::vector<std::uint32_t> mask;
            warm.fill_mask(mask);
        } catch (const grammar::grammar_error& e) {
            throw invalid_request(std::string("The grammar is too ambiguous to follow: ") + e.what(), spec.field, "invalid_grammar");
        }
    }
    std::lock_guard lock(mutex_);
    if (index_.count(key) == 0) {
        lru_.emplace_front(key, g);
        index_[key] = lru_.begin();
        if (lru_.size() > capacity_) {
            index_.erase(lru_.back().first);
            lru_.pop_back();
        }
    }
    return g;
}

}  // namespace sluice::api
