// Request ids (the client's when sane, else generated), key ids, error bodies carrying the
// id, and the per-request log line in both formats.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <string>

#include "http/request_log.hpp"
#include "sluice/api/api_error.hpp"
#include "sluice/http/api_keys.hpp"

namespace {

namespace json = boost::json;
using namespace sluice::http::detail;

bool generated(const std::string& id) { return id.size() == 28 && id.starts_with("req_"); }

TEST(request_id, the_clients_id_is_kept_when_sane) {
    EXPECT_EQ(request_id_from("abc-123"), "abc-123");
    EXPECT_EQ(request_id_from("550e8400-e29b-41d4-a716-446655440000"), "550e8400-e29b-41d4-a716-446655440000");
    EXPECT_EQ(request_id_from(std::string(128, 'x')), std::string(128, 'x'));
    EXPECT_EQ(request_id_from("!~{}"), "!~{}");
}

TEST(request_id, anything_else_gets_a_new_one) {
    for (const std::string& bad : {std::string(), std::string(129, 'x'), std::string("has space"), std::string("tab\there"),
                                  std::string("line\nbreak"), std::string("caf\xc3\xa9"), std::string("nul\0x", 5)}) {
        const auto id = request_id_from(bad);
        EXPECT_TRUE(generated(id)) << id;
    }
    std::set<std::string> ids;
    for (int i = 0; i < 100; ++i) ids.insert(request_id_from(""));
    EXPECT_EQ(ids.size(), 100u);
}

TEST(request_id, error_bodies_carry_it_in_each_protocols_place) {
    const auto e = sluice::api::invalid_request("bad", "messages");
    const auto openai = json::parse(e.body("req_1")).as_object();
    EXPECT_EQ(openai.at("error").at("request_id"), "req_1");
    EXPECT_EQ(openai.at("error").at("message"), "bad");
    const auto anthropic = json::parse(e.anthropic_body("req_2")).as_object();
    EXPECT_EQ(anthropic.at("request_id"), "req_2");
    EXPECT_EQ(anthropic.at("type"), "error");
    EXPECT_FALSE(json::parse(e.body()).at("error").as_object().contains("request_id"));
}

TEST(api_keys, key_ids_are_stable_opaque_and_distinct) {
    const auto id = sluice::http::api_keys::id_of("sk-secret-key-123");
    EXPECT_EQ(id, sluice::http::api_keys::id_of("sk-secret-key-123"));
    EXPECT_NE(id, sluice::http::api_keys::id_of("sk-secret-key-124"));
    EXPECT_EQ(id.size(), 20u);
    EXPECT_TRUE(id.starts_with("key_"));
    EXPECT_EQ(id.find("secret"), std::string::npos);
}

request_record finished_generation() {
    request_record r;
    r.id = "req_abc";
    r.key_id = "key_0123456789abcdef";
    r.has_usage = true;
    r.prompt_tokens = 12;
    r.cached_tokens = 8;
    r.completion_tokens = 40;
    r.ttft_ms = 95.44;
    r.cancel_reason = std::string(cancel_reason::client_gone);
    return r;
}

TEST(request_log, json_lines_have_every_field_that_applies) {
    const auto line = format_request_log(finished_generation(), true, "2026-11-30T23:00:00.000Z", "POST", "/chat/completions",
                                         "/v1/chat/completions", 200, 812.26);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    const auto o = json::parse(line).as_object();
    EXPECT_EQ(o.at("time"), "2026-11-30T23:00:00.000Z");
    EXPECT_EQ(o.at("request_id"), "req_abc");
    EXPECT_EQ(o.at("method"), "POST");
    EXPECT_EQ(o.at("route"), "/v1/chat/completions");
    EXPECT_EQ(o.at("status").to_number<int>(), 200);
    EXPECT_EQ(o.at("key_id"), "key_0123456789abcdef");
    EXPECT_EQ(o.at("prompt_tokens").to_number<int>(), 12);
    EXPECT_EQ(o.at("cached_tokens").to_number<int>(), 8);
    EXPECT_EQ(o.at("completion_tokens").to_number<int>(), 40);
    EXPECT_DOUBLE_EQ(o.at("ttft_ms").to_number<double>(), 95.4);
    EXPECT_DOUBLE_EQ(o.at("duration_ms").to_number<double>(), 812.3);
    EXPECT_EQ(o.at("cancel_reason"), "client_gone");
}

TEST(request_log, fields_that_do_not_apply_are_left_out) {
    request_record r;
    r.id = "req_x";
    const auto o = json::parse(format_request_log(r, true, "t", "GET", "/health", "/health", 503, 0.2)).as_object();
    for (const char* absent : {"key_id", "prompt_tokens", "cached_tokens", "completion_tokens", "ttft_ms", "cancel_reason"}) {
        EXPECT_FALSE(o.contains(absent)) << absent;
    }
}

TEST(request_log, text_lines_say_the_same) {
    const auto line = format_request_log(finished_generation(), false, "", "POST", "/v1/chat/completions", "/v1/chat/completions", 200, 812.26);
    EXPECT_EQ(line, "POST /v1/chat/completions 200 812 ms id=req_abc key=key_0123456789abcdef prompt=12 cached=8 completion=40 ttft=95 ms "
                    "cancelled=client_gone");
}

}  // namespace
