// Every case of every ../shared/templates/*.json renders byte-for-byte to `expected`,
// or raises where the case has `error` (Jinja2 3.1 as Hugging Face configures it).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sluice/chat/jinja.hpp"
#include "support/fixtures.hpp"

namespace {

namespace json = boost::json;
using namespace sluice::chat;

render_options fixture_options() {
    render_options o;
    std::tm t{};
    t.tm_year = 2024 - 1900;
    t.tm_mon = 6;
    t.tm_mday = 26;
    t.tm_hour = 12;
    t.tm_wday = 5;  // Friday
    t.tm_yday = 207;
    o.fixed_time = t;
    return o;
}

class template_fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(template_fixture, renders_every_case) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "templates/" + GetParam() + ".json");
    const auto doc = json::parse(sluice::test::read_file(path)).as_object();
    const std::string source(doc.at("source").as_string());
    std::optional<jinja_template> tmpl;
    std::string parse_error;
    try {
        tmpl = jinja_template::parse(source);
    } catch (const template_error& e) {
        parse_error = e.what();
    }
    int failures = 0;
    for (const auto& cv : doc.at("cases").as_array()) {
        const auto& c = cv.as_object();
        const std::string name(c.at("name").as_string());
        const bool expect_error = c.contains("error");
        std::string got, error;
        if (!tmpl) {
            error = parse_error;
        } else {
            try {
                got = tmpl->render(value::from_json(c.at("context")), fixture_options());
            } catch (const template_error& e) {
                error = e.what();
            }
        }
        if (expect_error) {
            if (error.empty()) {
                ++failures;
                ADD_FAILURE() << GetParam() << " / " << name << ": expected an error (" << c.at("error").as_string() << ")";
            }
        } else if (!error.empty()) {
            ++failures;
            ADD_FAILURE() << GetParam() << " / " << name << ": raised: " << error;
        } else if (got != c.at("expected").as_string()) {
            ++failures;
            const std::string exp(c.at("expected").as_string());
            std::size_t at = 0;
            while (at < got.size() && at < exp.size() && got[at] == exp[at]) ++at;
            ADD_FAILURE() << GetParam() << " / " << name << ": differs at byte " << at << "\n  expected: ..."
                          << sluice::test::escape(exp.substr(at > 40 ? at - 40 : 0, 120)) << "\n  got:      ..."
                          << sluice::test::escape(got.substr(at > 40 ? at - 40 : 0, 120));
        }
    }
    EXPECT_EQ(failures, 0) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(shared, template_fixture, ::testing::ValuesIn(sluice::test::shared_stems("templates", ".json")),
                         sluice::test::param_name());

}  // namespace
