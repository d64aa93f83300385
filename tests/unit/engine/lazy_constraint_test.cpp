// A lazy token_constraint (tool_choice "auto"): free until a trigger word appears outside
// the quiet (reasoning) region, then the grammar applies from the trigger's first byte.
#include <gtest/gtest.h>

#include <cmath>

#include "sluice/engine/token_constraint.hpp"
#include "sluice/grammar/grammar.hpp"

namespace {

using namespace sluice;

// Tokens: every byte, a few words, and "<call>" as one token.
struct fixture {
    std::vector<std::string> pieces;
    std::shared_ptr<const grammar::token_vocabulary> vocab;
    fixture() {
        for (int b = 0; b < 256; ++b) pieces.emplace_back(1, static_cast<char>(b));
        for (const char* w : {"<call>", "hello ", "<ca", "ll>", "<think>", "</think>", "x<call>{", ""}) pieces.emplace_back(w);
        vocab = std::make_shared<const grammar::token_vocabulary>(pieces, std::vector<std::int32_t>{static_cast<std::int32_t>(pieces.size() - 1)},
                                                                  std::vector<std::int32_t>{});
    }
    std::int32_t id(const std::string& s) const {
        for (std::size_t i = pieces.size(); i-- > 0;) {
            if (pieces[i] == s) return static_cast<std::int32_t>(i);
        }
        throw std::runtime_error("no token " + s);
    }
    engine::token_constraint lazy(std::vector<std::string> words, std::string quiet_open = {}, std::string quiet_close = {},
                                  bool starts_quiet = false, std::vector<std::string> start_words = {}) const {
        auto t = std::make_shared<engine::grammar_trigger>();
        t->words = std::move(words);
        t->start_words = std::move(start_words);
        t->quiet_open = std::move(quiet_open);
        t->quiet_close = std::move(quiet_close);
        t->starts_quiet = starts_quiet;
        return engine::token_constraint(grammar::parse_gbnf(R"(root ::= "<call>{" [a-z]+ "}")"), vocab, t);
    }
    // Whether `piece` is allowed next.
    bool allowed(engine::token_constraint& c, const std::string& piece) const {
        std::vector<float> logits(pieces.size(), 0.0f);
        c.mask_logits(logits);
        return std::isfinite(logits[static_cast<std::size_t>(id(piece))]);
    }
};

TEST(lazy_constraint, free_until_the_trigger_then_constrained) {
    const fixture f;
    auto c = f.lazy({"<call>"});
    EXPECT_FALSE(c.active());
    EXPECT_TRUE(f.allowed(c, "hello "));
    EXPECT_TRUE(c.accept(f.id("hello ")));
    EXPECT_TRUE(f.allowed(c, "}"));  // anything goes before the call
    EXPECT_TRUE(c.accept(f.id("<call>")));
    EXPECT_TRUE(c.active());
    EXPECT_FALSE(f.allowed(c, "hello "));
    EXPECT_TRUE(f.allowed(c, "{"));
    for (const char* p : {"{", "a", "b", "}"}) ASSERT_TRUE(c.accept(f.id(p))) << p;
    EXPECT_TRUE(c.must_end());
}

TEST(lazy_constraint, trigger_split_over_tokens_and_inside_a_token) {
    const fixture f;
    auto split = f.lazy({"<call>"});
    EXPECT_TRUE(split.accept(f.id("<ca")));
    EXPECT_FALSE(split.active());
    EXPECT_TRUE(split.accept(f.id("ll>")));
    EXPECT_TRUE(split.active());
    EXPECT_TRUE(f.allowed(split, "{"));
    // "x<call>{": text, the trigger, and the grammar's next byte in one token.
    auto inside = f.lazy({"<call>"});
    EXPECT_TRUE(inside.accept(f.id("x<call>{")));
    EXPECT_TRUE(inside.active());
    EXPECT_FALSE(f.allowed(inside, "{"));
    EXPECT_TRUE(f.allowed(inside, "a"));
}

TEST(lazy_constraint, a_trigger_inside_reasoning_does_not_count) {
    const fixture f;
    auto c = f.lazy({"<call>"}, "<think>", "</think>");
    EXPECT_TRUE(c.accept(f.id("<think>")));
    EXPECT_TRUE(c.accept(f.id("<call>")));
    EXPECT_FALSE(c.active());
    EXPECT_TRUE(c.accept(f.id("</think>")));
    EXPECT_TRUE(c.accept(f.id("<call>")));
    EXPECT_TRUE(c.active());
    auto quiet = f.lazy({"<call>"}, "<think>", "</think>", true);
    EXPECT_TRUE(quiet.accept(f.id("<call>")));
    EXPECT_FALSE(quiet.active());
}

TEST(lazy_constraint, start_words_only_at_the_start) {
    const fixture f;
    auto at_start = f.lazy({}, {}, {}, false, {"<call>"});
    EXPECT_TRUE(at_start.accept(f.id(" ")));
    EXPECT_TRUE(at_start.accept(f.id("<call>")));
    EXPECT_TRUE(at_start.active());
    auto later = f.lazy({}, {}, {}, false, {"<call>"});
    EXPECT_TRUE(later.accept(f.id("hello ")));
    EXPECT_TRUE(later.accept(f.id("<call>")));
    EXPECT_FALSE(later.active());
}

TEST(lazy_constraint, text_after_the_trigger_that_breaks_the_grammar_is_refused) {
    const fixture f;
    auto c = f.lazy({"<ca"});  // fires on "<ca", then "ll>" must follow as the grammar says
    EXPECT_TRUE(c.accept(f.id("<ca")));
    EXPECT_TRUE(c.active());
    EXPECT_FALSE(c.accept(f.id("}")));
}

}  // namespace
