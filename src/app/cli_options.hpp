// Shared Boost.Program_options plumbing for the sub-commands.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace sluice::app {

namespace po = boost::program_options;

// Parses `args` into `vm`; returns false (after printing help to stdout) when --help was given.
// Throws sluice::error(errc::invalid_argument) with the parser's message on bad flags.
bool parse_options(const std::string& usage, const po::options_description& desc,
                   const po::positional_options_description& positional,
                   const std::vector<std::string>& args, po::variables_map& vm);

}  // namespace sluice::app
