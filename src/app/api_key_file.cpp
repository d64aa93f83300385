#include "api_key_file.hpp"

#include <fstream>

#include "sluice/util/error.hpp"

namespace sluice::app {
namespace {

constexpr const char* k_blank = " \t\r";

}  // namespace

std::vector<std::string> parse_api_keys(std::istream& in, const std::string& source) {
    std::vector<std::string> keys;
    for (std::string line; std::getline(in, line);) {
        const auto first = line.find_first_not_of(k_blank);
        if (first == std::string::npos || line[first] == '#') continue;
        const auto last = line.find_last_not_of(k_blank);
        keys.push_back(line.substr(first, last - first + 1));
    }
    if (in.bad()) throw error(errc::io, "--api-key-file: cannot read '" + source + "'");
    if (keys.empty())
        throw error(errc::invalid_argument,
                    "--api-key-file: '" + source + "' holds no key (only blank or # lines)");
    return keys;
}

std::vector<std::string> read_api_key_file(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw error(errc::io, "--api-key-file: cannot read '" + path + "'");
    return parse_api_keys(f, path);
}

}  // namespace sluice::app
