// `--api-key-file FILE`: API keys kept out of argv (where `ps` and /proc/PID/cmdline show
// them to every user), e.g. a systemd credential (`LoadCredential=`) or a Kubernetes Secret
// mounted as a file.
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace sluice::app {

// The keys in `in`: one per line; surrounding spaces, tabs and a trailing CR are dropped;
// blank lines and lines whose first non-blank character is '#' are comments. A key may hold
// inner spaces and '#'. Throws sluice::error(errc::invalid_argument) naming `source` when no
// key is left: a file the operator gave but that holds no key would otherwise start a
// loopback server with no authentication at all.
std::vector<std::string> parse_api_keys(std::istream& in, const std::string& source);

// parse_api_keys on the file at `path`; errc::io when it cannot be read.
std::vector<std::string> read_api_key_file(const std::string& path);

}  // namespace sluice::app
