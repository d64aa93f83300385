// Locating ../shared (models, reference outputs, tokenizer fixtures) from tests.
// SLUICE_SHARED overrides the default `<repo>/../shared`. When the data is absent a
// test skips with a clear message, unless SLUICE_REQUIRE_SHARED=1 (CI), where it fails.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sluice::test {

inline std::filesystem::path shared_dir() {
    if (const char* env = std::getenv("SLUICE_SHARED"); env != nullptr && *env != '\0') return env;
    return std::filesystem::path(SLUICE_SOURCE_DIR) / ".." / "shared";
}

inline bool shared_required() {
    const char* env = std::getenv("SLUICE_REQUIRE_SHARED");
    return env != nullptr && std::string(env) == "1";
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

}  // namespace sluice::test

// Skips (or, with SLUICE_REQUIRE_SHARED=1, fails) the current test when `rel` is missing
// under the shared directory; otherwise defines `var` as its full path.
#define SLUICE_SHARED_PATH_OR_SKIP(var, rel)                                                        \
    const std::filesystem::path var = ::sluice::test::shared_dir() / (rel);                         \
    if (!std::filesystem::exists(var)) {                                                            \
        if (::sluice::test::shared_required()) {                                                     \
            FAIL() << "shared data missing: " << var << " (SLUICE_REQUIRE_SHARED=1)";               \
        }                                                                                            \
        GTEST_SKIP() << "shared data not found at " << var << "; set SLUICE_SHARED to run this test"; \
    }
