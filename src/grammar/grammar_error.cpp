#include "sluice/grammar/grammar.hpp"

namespace sluice::grammar {

grammar_error::grammar_error(const std::string& message, std::size_t offset)
    : sluice::error(errc::invalid_argument, message), offset_(offset) {}

}  // namespace sluice::grammar
