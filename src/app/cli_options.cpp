#include "cli_options.hpp"

#include <iostream>

#include "sluice/util/error.hpp"

namespace sluice::app {

bool parse_options(const std::string& usage, const po::options_description& desc,
                   const po::positional_options_description& positional,
                   const std::vector<std::string>& args, po::variables_map& vm) {
    try {
        po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
        if (vm.count("help")) {
            std::cout << usage << "\n" << desc << "\n";
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw error(errc::invalid_argument, std::string(e.what()) + "\n" + usage);
    }
    return true;
}

}  // namespace sluice::app
