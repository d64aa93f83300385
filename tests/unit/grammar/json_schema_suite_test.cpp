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

namespace {

// The generation profile (compact, schema order): every schema the check profile accepts
// compiles here too, to a grammar the GBNF parser takes; valid instances whose properties
// already follow schema order are accepted. Also reports compile times.
TEST(json_schema_suite, generation_profile_compiles_and_accepts_schema_order) {
    SLUICE_SHARED_PATH_OR_SKIP(dir, "schemas");
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    const auto vocab = std::make_shared<token_vocabulary>(std::vector<std::string>{"{"}, std::vector<std::int32_t>{},
                                                          std::vector<std::int32_t>{});
    std::vector<double> compile_ms;
    int accepted_valid = 0;
    int valid = 0;
    std::vector<std::string> wrongly_accepted;
    for (const auto& f : files) {
        const json::value doc = json::parse(sluice::test::read_file(f));
        const auto t0 = std::chrono::steady_clock::now();
        std::string gbnf;
        try {
            gbnf = compile_json_schema(doc.at("schema"));
        } catch (const schema_error&) {
            continue;
        }
        std::shared_ptr<const grammar> g;
        ASSERT_NO_THROW(g = parse_gbnf(gbnf)) << f.filename();
        compile_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        for (const json::value& t : doc.at("tests").as_array()) {
            const std::string text = sluice::test::python_json(t.at("data"), -1, false);
            const bool ok = accepts(g, vocab, text);
            if (t.at("valid").as_bool()) {
                ++valid;
                accepted_valid += ok ? 1 : 0;
            } else if (ok) {
                wrongly_accepted.push_back(f.filename().string() + ": " + text.substr(0, 200));
            }
        }
    }
    std::sort(compile_ms.begin(), compile_ms.end());
    ASSERT_FALSE(compile_ms.empty());
    const auto pct = [&](double p) { return compile_ms[static_cast<std::size_t>(p * static_cast<double>(compile_ms.size() - 1))]; };
    std::cout << "generation profile: " << compile_ms.size() << " schemas, compile+parse ms p50 " << pct(0.5) << " p90 "
              << pct(0.9) << " max " << compile_ms.back() << "; valid instances accepted compact in schema order: "
              << accepted_valid << "/" << valid << "\n";
    for (const std::string& s : wrongly_accepted) std::cout << "  WRONGLY ACCEPTED " << s << "\n";
    EXPECT_TRUE(wrongly_accepted.empty());
}

}  // namespace
