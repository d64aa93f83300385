// Server-wide logit biases from the command line (llama.cpp's --logit-bias).
#pragma once

#include <string_view>
#include <utility>

#include "sluice/engine/vocab.hpp"

namespace sluice::engine {

// Parses "TOKEN+BIAS" or "TOKEN-BIAS": TOKEN is a token id of `v` or the exact text of one
// of its tokens ("<|im_end|>+4"), BIAS a finite number or "inf" ("15043-inf" bans the
// token; +inf is refused: it would make every other token impossible). Throws
// sluice::error(errc::invalid_argument) naming the spec when it does not parse.
std::pair<token_id, float> parse_logit_bias(std::string_view spec, const vocab& v);

}  // namespace sluice::engine
