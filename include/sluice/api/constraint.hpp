// Structured output as requests ask for it: `response_format` ({"type": "text" |
// "json_object" | "json_schema", "json_schema": {"name", "schema", "strict"}}), and
// llama-server's `json_schema` (a schema) and `grammar` (GBNF) fields. The spec is parsed
// with the request; compiling it into a grammar (JSON Schema -> GBNF -> automata) happens
// once per distinct spec, through a small cache shared by all requests.
#pragma once

#include <boost/json/value.hpp>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::api {

struct constraint_spec {
    enum class kind { none, json_object, json_schema, gbnf };
    kind type = kind::none;
    boost::json::value schema;  // json_schema
    std::string gbnf;           // gbnf
    std::string field;          // the request field it came from, for error messages
};

// Parses `response_format`; throws api_error 400 naming the field.
constraint_spec parse_response_format(const boost::json::value& v);

// Compiled grammars by spec, least recently used dropped past `capacity`. Thread-safe.
class grammar_cache {
public:
    explicit grammar_cache(std::size_t capacity = 64) : capacity_(capacity) {}
    // Null for kind::none. Throws api_error 400 (with the schema keyword and JSON pointer,
    // or the GBNF byte offset) when the spec cannot be compiled. With `vocab`, a newly
    // compiled grammar's per-vocabulary tables are built here, on the caller's thread, not
    // by the first sequence that uses it (on the engine's strand).
    std::shared_ptr<const grammar::grammar> get(const constraint_spec& spec,
                                                const std::shared_ptr<const grammar::token_vocabulary>& vocab = nullptr);

private:
    using entry = std::pair<std::string, std::shared_ptr<const grammar::grammar>>;
    std::size_t capacity_;
    std::mutex mutex_;
    std::list<entry> lru_;  // most recent first
    std::unordered_map<std::string, std::list<entry>::iterator> index_;
};

// Compiles a spec without caching (the CLI, tests).
std::shared_ptr<const grammar::grammar> compile_constraint(const constraint_spec& spec);

}  // namespace sluice::api
