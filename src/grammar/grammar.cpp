#include "sluice/grammar/grammar.hpp"

#include "grammar/compiled_grammar.hpp"
#include "grammar/gbnf_parser.hpp"
#include "grammar/gbnf_printer.hpp"
#include "grammar/state_masks.hpp"

namespace sluice::grammar {

grammar_error::grammar_error(const std::string& message, std::size_t offset)
    : sluice::error(errc::invalid_argument, message), offset_(offset) {}

grammar::grammar(std::unique_ptr<const detail::compiled_grammar> impl) : impl_(std::move(impl)) {}
grammar::~grammar() = default;

std::string grammar::to_gbnf() const { return detail::print_gbnf(impl_->ast); }
std::size_t grammar::rule_count() const noexcept { return impl_->rules.size(); }
std::size_t grammar::state_count() const noexcept { return impl_->states.size(); }

std::shared_ptr<const grammar> parse_gbnf(std::string_view text, std::string_view root, const grammar_limits& limits) {
    detail::ast_grammar ast = detail::parse_gbnf_ast(text, root, limits);
    return std::make_shared<const grammar>(detail::compile_ast(std::move(ast), limits));
}

}  // namespace sluice::grammar
