// Grammar states that behave alike for the next `depth` bytes: Moore partition refinement
// run for depth + 1 rounds (or until stable). Two states in one class accept the same byte
// strings of up to `depth` bytes with the same pops, so with the same stack below they give
// the same token mask over a vocabulary whose longest token has `depth` bytes. This is what
// lets a string with maxLength 1000 (a 1000-state counter) reuse its mask from token to token.
#pragma once

#include <cstdint>
#include <vector>

#include "grammar/compiled_grammar.hpp"

namespace sluice::grammar::detail {

// class[s] for every state. A rule that references a nullable rule keeps its states apart
// (a reference may consume no byte, so rounds would not bound bytes). Identity classes when
// the work would exceed a bound.
std::vector<std::uint32_t> lookahead_classes(const compiled_grammar& g, std::uint32_t depth);

}  // namespace sluice::grammar::detail
