// Runs a command line through the shell with stdin from a string, capturing
// stdout, stderr and the exit status. For CLI integration tests.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "support/shared_data.hpp"

namespace sluice::test {

struct process_result {
    int status = -1;
    std::string out;
    std::string err;
};

inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') q += "'\\''";
        else q += c;
    }
    return q + "'";
}

inline process_result run_process(const std::string& command_line, const std::string& input = {}) {
    const auto dir = std::filesystem::temp_directory_path() / ("sluice-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto in = dir / "in", out = dir / "out", err = dir / "err";
    std::ofstream(in, std::ios::binary) << input;
    const std::string cmd = command_line + " < " + shell_quote(in.string()) + " > " + shell_quote(out.string()) +
                            " 2> " + shell_quote(err.string());
    const int raw = std::system(cmd.c_str());
    process_result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
}

}  // namespace sluice::test
