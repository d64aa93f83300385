// Fuzzes the JSON Schema compiler: the input is a schema (JSON text). Whatever compiles must
// be a grammar the GBNF parser accepts. Only schema_error and grammar_error may escape the
// library; anything else (or a crash, a hang, unbounded memory) is a bug.
#include <boost/json/parse.hpp>

#include <cstdlib>
#include <string>

#include "fuzz_target.hpp"
#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/json_schema.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sluice::grammar;
    if (size > 1 << 16) return 0;
    boost::system::error_code ec;
    boost::json::parse_options po;
    po.max_depth = 512;
    const boost::json::value schema =
        boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec, {}, po);
    if (ec) return 0;
    for (const schema_options& opts : {schema_options{}, schema_options::for_checking()}) {
        try {
            const std::string gbnf = compile_json_schema(schema, opts);
            (void)parse_gbnf(gbnf);
        } catch (const schema_error&) {
        } catch (const grammar_error& e) {
            // The compiler wrote a grammar the parser rejects: only the parser's size limits
            // may say no; a syntax error, undefined or left-recursive rule is a compiler bug.
            const std::string what = e.what();
            if (what.find("more than") == std::string::npos && what.find("limit") == std::string::npos) std::abort();
        }
    }
    return 0;
}
