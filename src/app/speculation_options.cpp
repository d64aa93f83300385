#include "speculation_options.hpp"

#include <string>

#include "sluice/util/error.hpp"

namespace sluice::app {
namespace {

constexpr int k_default_ngram = 3;   // see docs/performance.md, "Speculative decoding"
constexpr int k_default_draft = 8;

}  // namespace

void add_speculation_options(po::options_description& d) {
    d.add_options()
        ("spec-type", po::value<std::string>()->default_value("none"),
         "speculative decoding: none, or ngram-simple (draft the tokens that followed the latest earlier occurrence of the "
         "last N tokens; the output is unchanged, only faster when text repeats)")
        ("spec-ngram-simple-size-n", po::value<int>()->default_value(k_default_ngram), "ngram-simple: tokens of the tail looked up (N)")
        ("spec-ngram-simple-size-m", po::value<int>()->default_value(k_default_draft), "ngram-simple: draft tokens per step at most (M)");
}

engine::speculation_config speculation_of(const po::variables_map& vm) {
    const std::string type = vm["spec-type"].as<std::string>();
    if (type != "none" && type != "ngram-simple") {
        throw error(errc::invalid_argument, "--spec-type must be none or ngram-simple, got '" + type + "'");
    }
    const int n = vm["spec-ngram-simple-size-n"].as<int>(), m = vm["spec-ngram-simple-size-m"].as<int>();
    if (n < 1 || n > 1024) throw error(errc::invalid_argument, "--spec-ngram-simple-size-n must be between 1 and 1024");
    if (m < 1 || m > 64) throw error(errc::invalid_argument, "--spec-ngram-simple-size-m must be between 1 and 64");
    engine::speculation_config c;
    c.ngram = static_cast<std::size_t>(n);
    c.max_draft = type == "none" ? 0 : static_cast<std::size_t>(m);
    return c;
}

}  // namespace sluice::app
