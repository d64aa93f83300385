// Temporary: the API compiles and links while the parser and matcher are written.
#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/matcher.hpp"
#include "sluice/grammar/token_vocabulary.hpp"

namespace sluice::grammar {
namespace detail {
struct compiled_grammar {};
struct token_trie {};
class parser_state {};
}  // namespace detail

grammar::grammar(std::unique_ptr<const detail::compiled_grammar> impl) : impl_(std::move(impl)) {}
grammar::~grammar() = default;
std::string grammar::to_gbnf() const { return {}; }
std::size_t grammar::rule_count() const noexcept { return 0; }
std::size_t grammar::state_count() const noexcept { return 0; }

std::shared_ptr<const grammar> parse_gbnf(std::string_view, std::string_view, const grammar_limits&) {
    throw grammar_error("GBNF parser not implemented yet");
}

token_vocabulary::token_vocabulary(std::vector<std::string> pieces, std::vector<std::int32_t> eog_ids,
                                   std::vector<std::int32_t>)
    : pieces_(std::move(pieces)), eog_(std::move(eog_ids)) {}
token_vocabulary::~token_vocabulary() = default;
bool token_vocabulary::is_eog(std::int32_t) const noexcept { return false; }
bool token_vocabulary::is_special(std::int32_t) const noexcept { return false; }

matcher::matcher(std::shared_ptr<const grammar> g, std::shared_ptr<const token_vocabulary> v)
    : grammar_(std::move(g)), vocab_(std::move(v)) {}
matcher::~matcher() = default;
matcher::matcher(const matcher& other) : grammar_(other.grammar_), vocab_(other.vocab_) {}
matcher& matcher::operator=(const matcher& other) { grammar_ = other.grammar_; vocab_ = other.vocab_; return *this; }
matcher::matcher(matcher&&) noexcept = default;
matcher& matcher::operator=(matcher&&) noexcept = default;
void matcher::fill_mask(std::vector<std::uint32_t>& mask) { mask.assign(vocab_->mask_words(), 0); }
bool matcher::accept_token(std::int32_t) { return false; }
bool matcher::accept_bytes(std::string_view) { return false; }
std::size_t matcher::accepted_prefix(std::string_view) const { return 0; }
bool matcher::is_complete() const { return false; }
bool matcher::can_continue() const { return false; }
std::string matcher::forced_bytes() const { return {}; }
void matcher::reset() {}
}  // namespace sluice::grammar
