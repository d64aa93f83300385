#include "sluice/store/response_store.hpp"

#include "sluice/util/error.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace sluice;
using namespace sluice::store;

std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A fresh directory per test, removed afterwards.
class store_test : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() /
               ("sluice-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    store_options options() const {
        store_options o;
        o.dir = dir_ / "data";
        return o;
    }
    fs::path dir_;
};

stored_response make(std::string id, std::string owner, std::int64_t created_at, std::size_t payload = 10) {
    stored_response r;
    r.id = std::move(id);
    r.owner = std::move(owner);
    r.created_at = created_at;
    r.response_json = "{\"id\":\"" + r.id + "\",\"pad\":\"" + std::string(payload, 'x') + "\"}";
    r.input_json = R"([{"role":"user","content":"hi"}])";
    r.history_json = R"([{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}])";
    return r;
}

std::uint64_t payload_bytes(const stored_response& r) {
    return r.id.size() + r.owner.size() + r.response_json.size() + r.input_json.size() +
           r.history_json.size();
}

TEST_F(store_test, put_get_remove_round_trip) {
    response_store s(options());
    EXPECT_TRUE(fs::exists(dir_ / "data" / "responses.sqlite3"));
    EXPECT_EQ(fs::status(dir_ / "data").permissions() & fs::perms::all, fs::perms::owner_all);
    auto r = make("resp_1", "key_a", now());
    r.input_json = std::string("[\"embedded\\u0000 and ") + "\xF0\x9F\x9A\x80" + " '; DROP TABLE responses; --\"]";
    s.put(r);
    auto got = s.get("resp_1", "key_a");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id, r.id);
    EXPECT_EQ(got->owner, r.owner);
    EXPECT_EQ(got->created_at, r.created_at);
    EXPECT_EQ(got->response_json, r.response_json);
    EXPECT_EQ(got->input_json, r.input_json);
    EXPECT_EQ(got->history_json, r.history_json);
    EXPECT_EQ(s.current_usage().entries, 1u);
    EXPECT_EQ(s.current_usage().bytes, payload_bytes(r));
    EXPECT_FALSE(s.get("resp_2", "key_a"));
    EXPECT_TRUE(s.remove("resp_1", "key_a"));
    EXPECT_FALSE(s.remove("resp_1", "key_a"));
    EXPECT_FALSE(s.get("resp_1", "key_a"));
    EXPECT_EQ(s.current_usage().entries, 0u);
    EXPECT_EQ(s.current_usage().bytes, 0u);
}

TEST_F(store_test, owners_are_isolated) {
    response_store s(options());
    s.put(make("resp_a", "key_a", now()));
    s.put(make("resp_none", "", now()));
    EXPECT_FALSE(s.get("resp_a", "key_b"));
    EXPECT_FALSE(s.get("resp_a", ""));
    EXPECT_FALSE(s.get("resp_a", "key_a' OR '1'='1"));
    EXPECT_FALSE(s.get("resp_none", "key_a"));
    EXPECT_FALSE(s.remove("resp_a", "key_b"));
    EXPECT_FALSE(s.remove("resp_a", ""));
    EXPECT_TRUE(s.get("resp_a", "key_a"));
    EXPECT_TRUE(s.get("resp_none", ""));
    EXPECT_EQ(s.current_usage().entries, 2u);
}

TEST_F(store_test, put_replaces_the_same_id) {
    response_store s(options());
    s.put(make("resp_1", "key_a", now(), 100));
    auto r = make("resp_1", "key_a", now(), 5);
    r.response_json = "{\"v\":2}";
    s.put(r);
    auto got = s.get("resp_1", "key_a");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->response_json, "{\"v\":2}");
    EXPECT_EQ(s.current_usage().entries, 1u);
    EXPECT_EQ(s.current_usage().bytes, payload_bytes(r));
}

TEST_F(store_test, expired_entries_are_not_found_and_are_deleted) {
    auto o = options();
    o.ttl = std::chrono::seconds(60);
    response_store s(o);
    s.put(make("resp_old", "k", now() - 120));
    s.put(make("resp_edge", "k", now() - 30));
    EXPECT_FALSE(s.get("resp_old", "k"));
    EXPECT_FALSE(s.remove("resp_old", "k"));
    EXPECT_TRUE(s.get("resp_edge", "k"));
    // The next put deletes it.
    s.put(make("resp_new", "k", now()));
    EXPECT_EQ(s.current_usage().entries, 2u);
    EXPECT_FALSE(s.get("resp_old", "k"));

    // Expired at open: a store with a shorter TTL deletes on opening.
    {
        auto shorter = o;
        shorter.ttl = std::chrono::seconds(10);
        // (the first store still holds its connection; a second one on the same file is fine)
        response_store s2(shorter);
        EXPECT_EQ(s2.current_usage().entries, 1u);
        EXPECT_TRUE(s2.get("resp_new", "k"));
        EXPECT_FALSE(s2.get("resp_edge", "k"));
    }
}

TEST_F(store_test, size_bound_evicts_oldest_first) {
    auto o = options();
    o.max_bytes = 20000;
    response_store s(o);
    const std::int64_t t0 = now();
    std::vector<stored_response> all;
    for (int i = 0; i < 100; ++i) {
        all.push_back(make("resp_" + std::to_string(i), "k", t0 + i, 900));
        s.put(all.back());
        EXPECT_LE(s.current_usage().bytes, o.max_bytes);
    }
    const auto u = s.current_usage();
    EXPECT_LE(u.bytes, o.max_bytes);
    EXPECT_GT(u.bytes, o.max_bytes - 2 * payload_bytes(all.back()));
    // The newest u.entries are present, every older one is gone.
    const auto kept = static_cast<int>(u.entries);
    ASSERT_GT(kept, 0);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(s.get(all[i].id, "k").has_value(), i >= 100 - kept) << i;

    // An older created_at is evicted before earlier-inserted newer ones; the new entry itself stays.
    s.put(make("resp_ancient", "k", t0 - 1000, 900));
    EXPECT_TRUE(s.get("resp_ancient", "k"));
    EXPECT_FALSE(s.get(all[100 - kept].id, "k"));
    EXPECT_LE(s.current_usage().bytes, o.max_bytes);

    // One entry larger than the whole bound is refused and changes nothing.
    const auto before = s.current_usage();
    try {
        s.put(make("resp_huge", "k", t0, 30000));
        FAIL() << "expected sluice::error";
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), errc::out_of_range);
    }
    EXPECT_EQ(s.current_usage().entries, before.entries);
    EXPECT_FALSE(s.get("resp_huge", "k"));
}

TEST_F(store_test, entries_persist_across_reopen) {
    {
        response_store s(options());
        for (int i = 0; i < 10; ++i) s.put(make("resp_" + std::to_string(i), "k", now()));
        s.remove("resp_3", "k");
    }
    response_store s(options());
    EXPECT_EQ(s.current_usage().entries, 9u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(s.get("resp_" + std::to_string(i), "k").has_value(), i != 3);
    EXPECT_EQ(s.integrity_check(), "ok");
}

TEST_F(store_test, kill_9_loses_no_acknowledged_put) {
    const auto o = options();
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(fds[0]);
        try {
            store_options co = o;
            co.max_bytes = 4ull << 20;  // eviction runs too, but never reaches acknowledged ids
            response_store s(co);
            for (int i = 0;; ++i) {
                const std::string id = "resp_" + std::to_string(i);
                s.put(make(id, "k", now(), 2000 + static_cast<std::size_t>(i % 7) * 300));
                const std::string line = id + "\n";
                if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(3);
            }
        } catch (...) {
            ::_exit(2);
        }
    }
    ::close(fds[1]);
    std::vector<std::string> acked;
    std::string buf;
    char chunk[4096];
    while (acked.size() < 200) {
        const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
        if (n <= 0) break;
        buf.append(chunk, static_cast<std::size_t>(n));
        std::size_t pos;
        while ((pos = buf.find('\n')) != std::string::npos) {
            acked.push_back(buf.substr(0, pos));
            buf.erase(0, pos + 1);
        }
    }
    ::kill(child, SIGKILL);
    // Ids the child wrote before dying were acknowledged too.
    for (ssize_t n; (n = ::read(fds[0], chunk, sizeof chunk)) > 0;) buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t pos;
    while ((pos = buf.find('\n')) != std::string::npos) {
        acked.push_back(buf.substr(0, pos));
        buf.erase(0, pos + 1);
    }
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    ASSERT_GE(acked.size(), 200u);

    response_store s(o);
    EXPECT_EQ(s.integrity_check(), "ok");
    for (const auto& id : acked) EXPECT_TRUE(s.get(id, "k")) << id;
    EXPECT_GE(s.current_usage().entries, acked.size());
}

TEST_F(store_test, garbage_file_is_an_error_and_left_in_place) {
    fs::create_directories(dir_ / "data");
    const auto file = dir_ / "data" / "responses.sqlite3";
    std::string garbage(8192, '\0');
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) & 0xff);
    std::ofstream(file, std::ios::binary) << garbage;
    try {
        response_store s(options());
        FAIL() << "expected sluice::error";
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), errc::io);
        EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not an SQLite database"), std::string::npos) << e.what();
    }
    std::ifstream in(file, std::ios::binary);
    std::stringstream back;
    back << in.rdbuf();
    EXPECT_EQ(back.str(), garbage);
    EXPECT_FALSE(fs::exists(dir_ / "data" / "responses.sqlite3-wal"));
}

TEST_F(store_test, short_garbage_and_foreign_databases_are_refused) {
    fs::create_directories(dir_ / "data");
    const auto file = dir_ / "data" / "responses.sqlite3";
    std::ofstream(file, std::ios::binary) << "hello\n";
    EXPECT_THROW(response_store{options()}, sluice::error);
    EXPECT_EQ(fs::file_size(file), 6u);
    fs::remove(file);
    {
        // A valid SQLite file of someone else's: refused, not extended with our tables.
        response_store s(options());
    }
    std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(68);  // application_id in the SQLite header
    f.write("\x01\x02\x03\x04", 4);
    f.close();
    try {
        response_store s(options());
        FAIL() << "expected sluice::error";
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), errc::io);
        EXPECT_NE(std::string(e.what()).find("another application"), std::string::npos) << e.what();
    }
}

TEST_F(store_test, unopenable_path_names_the_path) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "data") << "a file where the directory should be";
    try {
        response_store s(options());
        FAIL() << "expected sluice::error";
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), errc::io);
        EXPECT_NE(std::string(e.what()).find((dir_ / "data").string()), std::string::npos) << e.what();
    }
}

TEST_F(store_test, concurrent_threads_and_two_stores_on_one_dir) {
    response_store a(options());
    response_store b(options());  // a second connection, as a second process would have
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            response_store& s = (t % 2) ? a : b;
            response_store& other = (t % 2) ? b : a;
            const std::string owner = "key_" + std::to_string(t);
            for (int i = 0; i < 100; ++i) {
                const std::string id = "resp_" + std::to_string(t) + "_" + std::to_string(i);
                s.put(make(id, owner, now(), 200));
                auto got = other.get(id, owner);
                if (!got || got->id != id) ++failures;
                if (other.get(id, "key_x")) ++failures;
                if (i % 3 == 0 && !s.remove(id, owner)) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    const auto u = a.current_usage();
    EXPECT_EQ(u.entries, 4u * (100 - 34));
    EXPECT_EQ(a.integrity_check(), "ok");
}

TEST(default_data_dir, follows_xdg_then_home) {
    const char* old_xdg = std::getenv("XDG_DATA_HOME");
    const std::string saved = old_xdg ? old_xdg : "";
    ::setenv("XDG_DATA_HOME", "/tmp/xdg-data", 1);
    EXPECT_EQ(default_data_dir(), fs::path("/tmp/xdg-data/sluice"));
    ::setenv("XDG_DATA_HOME", "relative/ignored", 1);
    const char* home = std::getenv("HOME");
    if (home && *home) {
        EXPECT_EQ(default_data_dir(), fs::path(home) / ".local/share/sluice");
    }
    if (old_xdg) ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
    else ::unsetenv("XDG_DATA_HOME");
}

}  // namespace
