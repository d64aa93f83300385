// The acceptance test of issue 11 for the JSON Schema compiler: every schema in
// ../shared/schemas (JSONSchemaBench MaskBench) that sluice accepts must accept every valid
// instance - serialised compactly, with json.dumps(indent=2) whitespace, and with
// ensure_ascii escapes - and reject every invalid one, through the GBNF parser and matcher
// (the path `sluice grammar --check` takes). Refused schemas are listed with keyword and
// pointer and must stay under 5% of the set.
// SLUICE_SCHEMA_FILTER=substr limits the files; SLUICE_SCHEMA_DUMP=1 prints the grammar of
// every schema with a misjudged instance.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "unit/grammar/json_schema_text.hpp"
#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/json_schema.hpp"
#include "sluice/grammar/matcher.hpp"
#include "support/shared_data.hpp"

namespace {

namespace json = boost::json;
using namespace sluice::grammar;

struct suite_result {
    int schemas = 0;
    int refused = 0;
    int instances = 0;
    int checked_texts = 0;
    std::vector<std::string> refusals;
    std::vector<std::string> misjudged;
    std::vector<std::string> broken;  // grammar the GBNF parser rejected: a compiler bug
};

bool accepts(const std::shared_ptr<const grammar>& g, const std::shared_ptr<const token_vocabulary>& v,
             const std::string& text) {
    matcher m(g, v);
    return m.accept_bytes(text) && m.is_complete();
}

void check_file(const std::filesystem::path& file, suite_result& r, bool dump) {
    const json::value doc = json::parse(sluice::test::read_file(file));
    const json::value& schema = doc.at("schema");
    const std::string name = file.filename().string();
    ++r.schemas;
    std::string gbnf;
    try {
        gbnf = compile_json_schema(schema, schema_options::for_checking());
    } catch (const schema_error& e) {
        ++r.refused;
        r.refusals.push_back(name + ": keyword \"" + e.keyword + "\" at \"" + e.pointer + "\": " + e.what());
        return;
    }
    std::shared_ptr<const grammar> g;
    try {
        g = parse_gbnf(gbnf);
    } catch (const grammar_error& e) {
        r.broken.push_back(name + ": " + e.what());
        if (dump) std::cerr << gbnf << "\n";
        return;
    }
    const auto vocab = std::make_shared<token_vocabulary>(std::vector<std::string>{"{"}, std::vector<std::int32_t>{},
                                                          std::vector<std::int32_t>{});
    bool any_bad = false;
    int index = 0;
    for (const json::value& t : doc.at("tests").as_array()) {
        const json::value& data = t.at("data");
        const bool valid = t.at("valid").as_bool();
        ++r.instances;
        const std::vector<std::pair<const char*, std::string>> forms = {
            {"compact", sluice::test::python_json(data, -1, false)},
            {"indent=2", sluice::test::python_json(data, 2, false)},
            {"indent=2 ascii", sluice::test::python_json(data, 2, true)}};
        for (const auto& [form, text] : forms) {
            ++r.checked_texts;
            if (accepts(g, vocab, text) != valid) {
                any_bad = true;
                const std::size_t at = matcher(g, vocab).accepted_prefix(text);
                r.misjudged.push_back(name + " test " + std::to_string(index) + " (" + form + ", valid=" +
                                      (valid ? "true" : "false") + ", accepted " + std::to_string(at) + " of " +
                                      std::to_string(text.size()) + " bytes): ..." +
                                      text.substr(at > 60 ? at - 60 : 0, 60) + "<HERE>" + text.substr(at, 40));
            }
        }
        ++index;
    }
    if (any_bad && dump) std::cerr << "---- " << name << "\n" << gbnf << "\n";
}

TEST(json_schema_suite, every_instance_judged_right_and_few_refusals) {
    SLUICE_SHARED_PATH_OR_SKIP(dir, "schemas");
    const char* filter = std::getenv("SLUICE_SCHEMA_FILTER");
    const bool dump = std::getenv("SLUICE_SCHEMA_DUMP") != nullptr;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() != ".json") continue;
        if (filter != nullptr && e.path().filename().string().find(filter) == std::string::npos) continue;
        files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    suite_result r;
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& f : files) check_file(f, r, dump);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::cout << "JSON Schema suite: " << r.schemas << " schemas, " << r.refused << " refused ("
              << (r.schemas ? 100.0 * r.refused / r.schemas : 0.0) << "%), " << r.instances << " instances, "
              << r.checked_texts << " texts checked, " << r.misjudged.size() << " misjudged, " << r.broken.size()
              << " grammars rejected by the GBNF parser, " << secs << " s\n";
    for (const std::string& s : r.refusals) std::cout << "  refused " << s << "\n";
    for (const std::string& s : r.broken) std::cout << "  BROKEN " << s << "\n";
    for (const std::string& s : r.misjudged) std::cout << "  MISJUDGED " << s << "\n";
    EXPECT_TRUE(r.broken.empty());
    EXPECT_TRUE(r.misjudged.empty());
    EXPECT_LT(r.refused * 20, std::max(r.schemas, 1)) << "refused share must stay under 5%";
}

}  // namespace
