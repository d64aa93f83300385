// fill_mask against the brute-force oracle (mask_oracle.hpp) on small vocabularies, random
// token strings and, when ../shared is present, the Qwen2 vocabulary.
#include <gtest/gtest.h>

#include <random>

#include "support/json_gbnf.hpp"
#include "sluice/model/gguf_file.hpp"
#include "support/shared_data.hpp"
#include "unit/grammar/gguf_vocabulary.hpp"
#include "unit/grammar/mask_oracle.hpp"

namespace {

using namespace sluice::grammar;
using sluice::test::brute_force_mask;
using sluice::test::expect_same_mask;

constexpr const char* k_json = sluice::test::k_json_gbnf;

const std::vector<const char*> k_grammars = {
    k_json,
    R"g(root ::= expr
expr ::= term (("+" | "*") term)*
term ::= [0-9]+ | "(" expr ")" | "-" term)g",
    R"(root ::= ("a" | "ab" | "b" | item)* "c"
item ::= "x" item? "y")",
    R"(root ::= word (" " word){0,4} "."
word ::= [a-zé€😀]+)",
    R"(root ::= "{\"name\": \"" [^"]{0,8} "\", \"n\": " ("1" | "22" | "333") "}")",
    R"(root ::= (a | b)*
a ::= "" | "q"
b ::= a "r")",
    // Long counters: states far from the bound share lookahead classes (masks reused).
    R"(root ::= "\"" [^"\\]{0,40} "\"" ("," [a-z]{3,30})?)",
    R"(root ::= "\"" char{2,60} "\""
char ::= [^"\\] | "\\" ["nt])",
};

// Walks `steps` random allowed tokens, checking every mask against the oracle.
void random_walk(const std::shared_ptr<const grammar>& g, const std::shared_ptr<const token_vocabulary>& v,
                 std::uint32_t seed, int steps, const std::string& name) {
    std::mt19937 rng(seed);
    matcher m(g, v);
    std::vector<std::uint32_t> mask;
    for (int step = 0; step < steps; ++step) {
        m.fill_mask(mask);
        auto want = brute_force_mask(m, *v);
        expect_same_mask(mask, want, *v, name + " step " + std::to_string(step));
        if (::testing::Test::HasFailure()) return;
        std::vector<std::int32_t> allowed;
        for (std::size_t i = 0; i < v->size(); ++i) {
            if (sluice::test::mask_bit(mask, i)) allowed.push_back(static_cast<std::int32_t>(i));
        }
        if (allowed.empty()) return;
        std::int32_t pick = allowed[rng() % allowed.size()];
        ASSERT_TRUE(m.accept_token(pick)) << name << ": masked-in token " << pick << " rejected";
        if (m.is_terminated()) return;
    }
}

std::shared_ptr<const token_vocabulary> random_vocab(std::uint32_t seed, std::size_t n) {
    std::mt19937 rng(seed);
    const std::vector<std::string> atoms{"{", "}", "[", "]", "\"", ",", ":", " ", "\n", "\\", "-", "+", "*", "(", ")",
                                         ".", "e", "0", "1", "2", "3", "9", "a", "b", "c", "q", "r", "x", "y", "n",
                                         "u", "t", "r", "l", "\xC3", "\xA9", "\xE2\x82", "\xAC", "\xF0\x9F", "\x98\x80", "\t"};
    std::vector<std::string> pieces{"</s>", "<ctl>", ""};
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t len = 1 + rng() % 5;
        std::string p;
        for (std::size_t k = 0; k < len; ++k) p += atoms[rng() % atoms.size()];
        pieces.push_back(p);
    }
    for (const char* s : {"true", "false", "null", "{\"", "\":", "\",", "\"}", "\"name\"", "é", "€", "😀", "word"}) pieces.push_back(s);
    return std::make_shared<token_vocabulary>(std::move(pieces), std::vector<std::int32_t>{0}, std::vector<std::int32_t>{1});
}

TEST(mask_oracle, small_vocabulary_walks) {
    auto v = random_vocab(1, 300);
    for (std::size_t i = 0; i < k_grammars.size(); ++i) {
        auto g = parse_gbnf(k_grammars[i]);
        for (std::uint32_t seed = 0; seed < 8; ++seed) random_walk(g, v, seed, 40, "grammar " + std::to_string(i));
    }
}

TEST(mask_oracle, random_token_strings) {
    for (std::uint32_t vs = 2; vs < 6; ++vs) {
        auto v = random_vocab(vs, 2000);
        for (std::size_t i = 0; i < k_grammars.size(); ++i) {
            auto g = parse_gbnf(k_grammars[i]);
            random_walk(g, v, vs * 100 + static_cast<std::uint32_t>(i), 30, "vocab " + std::to_string(vs) + " grammar " + std::to_string(i));
        }
    }
}

TEST(mask_oracle, json_text_walk_on_qwen2_vocabulary) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "vocab/ggml-vocab-qwen2.gguf");
    auto tok = sluice::engine::tokenizer::from_gguf(sluice::model::gguf_file::open(path.string()));
    auto v = sluice::test::grammar_vocabulary(tok);
    auto g = parse_gbnf(k_json);
    const std::string text = "{\"name\": \"Zoë \\\"the\\\" 😀\", \"tags\": [1, -2.5e3, true, null], \"x\":{}}";
    matcher m(g, v);
    std::vector<std::uint32_t> mask;
    auto ids = tok.tokenize(text, false, false);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        m.fill_mask(mask);
        if (i % 4 == 0) expect_same_mask(mask, brute_force_mask(m, *v), *v, "token " + std::to_string(i));
        ASSERT_TRUE(sluice::test::mask_bit(mask, static_cast<std::size_t>(ids[i]))) << "token " << i << " masked out";
        ASSERT_TRUE(m.accept_token(ids[i]));
    }
    EXPECT_TRUE(m.is_complete());
    m.fill_mask(mask);
    for (auto eog : v->eog_ids()) EXPECT_TRUE(sluice::test::mask_bit(mask, static_cast<std::size_t>(eog)));
}

// Keys that must avoid a name (first-byte split and slice shortcuts below the trie root) and a
// string with a long maxLength (lookahead classes), on a real vocabulary with non-ASCII text.
TEST(mask_oracle, keys_and_long_strings_on_qwen2_vocabulary) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "vocab/ggml-vocab-qwen2.gguf");
    auto tok = sluice::engine::tokenizer::from_gguf(sluice::model::gguf_file::open(path.string()));
    auto v = sluice::test::grammar_vocabulary(tok);
    auto g = parse_gbnf(R"g(root ::= "{" member ("," member)* "}"
member ::= key ":" str
key ::= "\"" ( [^"\\n] char* | "n" ( [^"\\a] char* | "a" ( [^"\\m] char* )? )? )? "\""
str ::= "\"" char{0,300} "\""
char ::= [^"\\\x00-\x1F] | "\\" ["\\nt])g");
    const std::string text = "{\"natural\":\"h\u00e9llo w\u00f6rld \U0001F600 \u65e5\u672c\u8a9e \\\"q\\\"\",\"nab\":\"x\",\"other key\":\"\"}";
    matcher m(g, v);
    std::vector<std::uint32_t> mask;
    auto ids = tok.tokenize(text, false, false);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        m.fill_mask(mask);
        if (i % 3 == 0 || i + 1 == ids.size()) expect_same_mask(mask, brute_force_mask(m, *v), *v, "token " + std::to_string(i));
        ASSERT_TRUE(sluice::test::mask_bit(mask, static_cast<std::size_t>(ids[i]))) << "token " << i << " masked out";
        ASSERT_TRUE(m.accept_token(ids[i]));
    }
    EXPECT_TRUE(m.is_complete());
}

}  // namespace
