// TLS contexts: a certificate and key load (TLS 1.2 at least), bad or mismatched files fail
// with the file named, and a reload swaps the context only when the new pair loads.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <openssl/ssl.h>
#include <string>

#include "http/tls_context.hpp"
#include "sluice/util/error.hpp"

namespace {

namespace fs = std::filesystem;
using sluice::http::detail::load_tls_context;
using sluice::http::detail::tls_contexts;

// A throwaway self-signed pair from the openssl CLI: DIR/NAME.crt, DIR/NAME.key.
void make_pair(const fs::path& dir, const std::string& name) {
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=" + name + " -keyout '" +
                            (dir / (name + ".key")).string() + "' -out '" + (dir / (name + ".crt")).string() + "' 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

class tls_context : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "the openssl CLI is not installed (scripts/setup.sh)";
        dir_ = fs::temp_directory_path() / ("sluice_tls_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        make_pair(dir_, "one");
        make_pair(dir_, "two");
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string file(const std::string& name) const { return (dir_ / name).string(); }
    fs::path dir_;
};

TEST_F(tls_context, loads_a_pair_and_refuses_versions_before_tls_1_2) {
    const auto ctx = load_tls_context(file("one.crt"), file("one.key"));
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->native_handle()), TLS1_2_VERSION);
}

TEST_F(tls_context, unreadable_or_mismatched_files_name_the_file) {
    try {
        load_tls_context(file("missing.crt"), file("one.key"));
        FAIL() << "a missing certificate loaded";
    } catch (const sluice::error& e) {
        EXPECT_NE(std::string(e.what()).find("--tls-cert"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("missing.crt"), std::string::npos) << e.what();
    }
    try {
        load_tls_context(file("one.crt"), file("two.key"));
        FAIL() << "a key of another certificate loaded";
    } catch (const sluice::error& e) {
        EXPECT_NE(std::string(e.what()).find("two.key"), std::string::npos) << e.what();
    }
    try {
        load_tls_context(file("one.key"), file("one.key"));  // a key where the certificate should be
        FAIL() << "a key loaded as a certificate";
    } catch (const sluice::error& e) {
        EXPECT_NE(std::string(e.what()).find("--tls-cert"), std::string::npos) << e.what();
    }
}

TEST_F(tls_context, a_failed_reload_keeps_the_current_context_and_a_good_one_replaces_it) {
    fs::copy_file(file("one.crt"), file("live.crt"));
    fs::copy_file(file("one.key"), file("live.key"));
    tls_contexts contexts(file("live.crt"), file("live.key"));
    const auto first = contexts.current();
    // Half-way through a renewal: the new certificate is there, its key not yet.
    fs::copy_file(file("two.crt"), file("live.crt"), fs::copy_options::overwrite_existing);
    const std::string failure = contexts.reload();
    EXPECT_FALSE(failure.empty());
    EXPECT_EQ(contexts.current(), first);
    fs::copy_file(file("two.key"), file("live.key"), fs::copy_options::overwrite_existing);
    EXPECT_EQ(contexts.reload(), "");
    EXPECT_NE(contexts.current(), first);
    // The holder let go of the old context; whoever still holds it (an open connection) keeps
    // a usable context.
    EXPECT_EQ(first.use_count(), 1);
    SSL* ssl = SSL_new(first->native_handle());
    EXPECT_NE(ssl, nullptr);
    SSL_free(ssl);
}

}  // namespace
