// The field tables (api/field_policy.hpp) in step with the validators: each validator asks
// its table before reading a field, so these checks are the drift tests -- a field a
// validator reads without a row is unknown to it, a row it honours must be read.
#include <gtest/gtest.h>

#include <set>
#include <span>
#include <string>
#include <vector>

#include "sluice/api/api_error.hpp"
#include "sluice/api/completion_request.hpp"
#include "sluice/api/field_policy.hpp"
#include "sluice/api/messages_request.hpp"
#include "sluice/api/responses_request.hpp"

namespace {

using namespace sluice::api;

// A table names each field once per endpoint.
TEST(field_tables, names_are_unique) {
    for (const auto table : {request_fields(), messages_fields(), responses_fields()}) {
        std::set<std::pair<std::string, unsigned>> seen;
        for (const auto& f : table) {
            for (unsigned bit = 1; bit <= k_responses; bit <<= 1) {
                if ((f.endpoints & bit) != 0) {
                    EXPECT_TRUE(seen.insert({std::string(f.name), bit}).second) << f.name;
                }
            }
        }
    }
}

// The drift checks. A validator reads a field only after its table admits it, so a field
// added to a validator without a row is unknown (the first test); a row the table honours
// must be read by the validator (reading none throws std::logic_error, which fails here).
enum class outcome { read, rejected, ignored_as_unknown };

template <class Parse>
outcome run(Parse parse) {
    try {
        const auto ignored = parse();
        return ignored.empty() ? outcome::read : outcome::ignored_as_unknown;
    } catch (const api_error& e) {
        return e.code == "unknown_parameter" ? outcome::ignored_as_unknown : outcome::rejected;
    }
}

const std::string k_chat_msgs = R"("messages": [{"role": "user", "content": "Hi"}])";

std::vector<std::string> chat(const std::string& extra, bool strict = false) {
    return parse_chat_request("{" + k_chat_msgs + ", " + extra + "}", parse_options{strict}).ignored_fields;
}
std::vector<std::string> completion(const std::string& extra, bool strict = false) {
    return parse_completion_request(R"({"prompt": "x", )" + extra + "}", parse_options{strict}).ignored_fields;
}
std::vector<std::string> messages(const std::string& extra, bool strict = false) {
    return parse_messages_request(R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}], )" + extra + "}",
                                  parse_options{strict})
        .ignored_fields;
}
std::vector<std::string> responses(const std::string& extra, bool strict = false) {
    return parse_responses_request(R"({"input": "Hi", )" + extra + "}", parse_options{strict}).canonical.ignored_fields;
}

TEST(field_tables, a_field_no_table_lists_is_unknown_to_every_validator) {
    const std::string f = R"("not_a_field": 1)";
    EXPECT_EQ(run([&] { return chat(f); }), outcome::ignored_as_unknown);
    EXPECT_EQ(run([&] { return completion(f); }), outcome::ignored_as_unknown);
    EXPECT_EQ(run([&] { return messages(f); }), outcome::ignored_as_unknown);
    EXPECT_EQ(run([&] { return responses(f); }), outcome::ignored_as_unknown);
    EXPECT_EQ(run([&] { return responses(f, true); }), outcome::ignored_as_unknown);
}

// Each row, sent as null under --strict-fields: never unknown, and an honoured row is read
// (a std::logic_error escapes otherwise). A table field the validators would not know would
// show up here; a validator's field missing from the table cannot be read at all.
TEST(field_tables, every_row_is_known_to_its_validator) {
    using parse_fn = std::vector<std::string> (*)(const std::string&, bool);
    struct target {
        std::span<const field_rule> table;
        unsigned endpoint;
        parse_fn parse;
        std::set<std::string> in_base;  // fields the base body already has
    };
    const target targets[] = {{request_fields(), k_chat, chat, {"messages"}},
                              {request_fields(), k_completions, completion, {"prompt"}},
                              {messages_fields(), k_messages, messages, {"model", "max_tokens", "messages"}},
                              {responses_fields(), k_responses, responses, {"input"}}};
    for (const auto& t : targets) {
        for (const auto& f : t.table) {
            if ((f.endpoints & t.endpoint) == 0 || t.in_base.contains(std::string(f.name))) continue;
            const std::string extra = "\"" + std::string(f.name) + "\": null";
            EXPECT_NO_THROW({
                const auto o = run([&] { return t.parse(extra, true); });
                EXPECT_NE(o, outcome::ignored_as_unknown) << f.name;
            }) << f.name;
        }
    }
}

}  // namespace
