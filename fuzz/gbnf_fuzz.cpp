// Fuzzes the GBNF parser and the matcher. Input: GBNF text, optionally followed by a NUL
// byte and a text to feed. Hostile grammars must end in grammar_error, never a crash, a hang
// or unbounded memory (limits are lowered so each input stays fast). Invariants: a token
// fill_mask allows is accepted by accept_token; a rejected byte leaves the state unchanged;
// forced bytes are accepted; to_gbnf() reads back.
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_target.hpp"
#include "sluice/grammar/matcher.hpp"

namespace {

using namespace sluice::grammar;

const std::shared_ptr<const token_vocabulary>& vocabulary() {
    static const auto v = [] {
        std::vector<std::string> pieces{"", "<eos>", "<ctl>"};
        for (int b = 1; b < 256; b += 3) pieces.emplace_back(1, static_cast<char>(b));
        for (const char* s : {"a", "b", "x", "0", "1", "\"", "{", "}", "[", "]", ",", ":", " ", "\n", "ab", "{\"", "\":",
                              "\xC3\xA9", "\xC3", "\xA9", "\xE2\x82\xAC", "true", "null", "aaaa", "xyz", "-1"}) {
            pieces.emplace_back(s);
        }
        return std::make_shared<const token_vocabulary>(std::move(pieces), std::vector<std::int32_t>{1},
                                                        std::vector<std::int32_t>{2});
    }();
    return v;
}

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "gbnf_fuzz invariant violated: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view text;
    if (auto nul = input.find('\0'); nul != std::string_view::npos) {
        text = input.substr(nul + 1);
        input = input.substr(0, nul);
    }
    grammar_limits limits;
    limits.max_text_bytes = 1u << 16;
    limits.max_rules = 256;
    limits.max_states = 20000;
    limits.max_repeat = 200;
    std::shared_ptr<const grammar> g;
    try {
        g = parse_gbnf(input, "root", limits);
        auto again = parse_gbnf(g->to_gbnf(), "root");
        if (again->to_gbnf() != g->to_gbnf()) violated("to_gbnf does not read back to itself");
    } catch (const grammar_error&) {
        return 0;
    }
    try {
        const auto& v = vocabulary();
        matcher m(g, v);
        std::vector<std::uint32_t> mask;
        for (std::size_t i = 0; i <= text.size() && i < 64; ++i) {
            m.fill_mask(mask);
            for (std::size_t t = 0; t < v->size(); ++t) {
                if (!((mask[t >> 5] >> (t & 31)) & 1u)) continue;
                matcher copy = m;
                if (!copy.accept_token(static_cast<std::int32_t>(t))) violated("a masked-in token is rejected");
            }
            std::string forced = m.forced_bytes();
            if (!forced.empty()) {
                matcher copy = m;
                if (!copy.accept_bytes(forced)) violated("forced bytes are rejected");
            }
            if (i == text.size()) break;
            bool complete = m.is_complete();
            if (!m.accept_bytes(text.substr(i, 1))) {
                if (m.is_complete() != complete) violated("a rejected byte changed the state");
                break;
            }
        }
    } catch (const grammar_error&) {
        // an ambiguous grammar over its stack bound: refused, not crashed
    }
    return 0;
}
