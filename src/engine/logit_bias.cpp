#include "sluice/engine/logit_bias.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "sluice/util/error.hpp"

namespace sluice::engine {
namespace {

// The whole of `s` as a number with its sign, or NaN.
float whole_number(std::string_view s) {
    const std::string text(s);
    char* end = nullptr;
    const float f = std::strtof(text.c_str(), &end);
    return end == text.c_str() + text.size() && !text.empty() ? f : NAN;
}

// `s` as a token of `v`: a decimal id, else a token's exact text.
token_id as_token(std::string_view s, const vocab& v) {
    token_id id = no_token;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
    if (ec == std::errc{} && end == s.data() + s.size()) return v.contains(id) ? id : no_token;
    return v.find(s);
}

}  // namespace

std::pair<token_id, float> parse_logit_bias(std::string_view spec, const vocab& v) {
    // The first split (from the left) whose right side is a signed number and whose left
    // side is a token: token texts may themselves contain '+' and '-'.
    for (std::size_t i = 1; i < spec.size(); ++i) {
        if (spec[i] != '+' && spec[i] != '-') continue;
        const float bias = whole_number(spec.substr(i));
        if (std::isnan(bias) || bias == INFINITY) continue;
        const token_id id = as_token(spec.substr(0, i), v);
        if (id != no_token) return {id, bias};
    }
    throw error(errc::invalid_argument, "--logit-bias '" + std::string(spec) +
                                            "': expected TOKEN+BIAS or TOKEN-BIAS, TOKEN a token id or a token's exact text of this "
                                            "model, BIAS a number or inf (e.g. 15043+1, '<|im_end|>+4', 15043-inf)");
}

}  // namespace sluice::engine
