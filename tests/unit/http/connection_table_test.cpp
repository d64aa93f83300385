// Connection caps: in all and per address, idle keep-alive connections closed first to make
// room, refusal when nothing is idle.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/connection_table.hpp"

namespace {

using sluice::http::detail::connection_table;

// Admits a connection whose close callback records its name in `closed`.
std::optional<connection_table::id> open(connection_table& t, const std::string& address, const std::string& name,
                                         std::vector<std::string>& closed, connection_table::refusal* why = nullptr) {
    return t.admit(address, [&closed, name] { closed.push_back(name); }, why);
}

TEST(connection_table, refuses_when_full_and_nothing_is_idle) {
    connection_table t(2, 0);
    std::vector<std::string> closed;
    ASSERT_TRUE(open(t, "10.0.0.1", "a", closed));
    ASSERT_TRUE(open(t, "10.0.0.2", "b", closed));
    connection_table::refusal why{};
    EXPECT_FALSE(open(t, "10.0.0.3", "c", closed, &why));
    EXPECT_EQ(why, connection_table::refusal::server_full);
    EXPECT_TRUE(closed.empty());
    EXPECT_EQ(t.size(), 2u);
}

TEST(connection_table, closes_the_longest_idle_connection_to_make_room) {
    connection_table t(3, 0);
    std::vector<std::string> closed;
    const auto a = open(t, "10.0.0.1", "a", closed);
    const auto b = open(t, "10.0.0.2", "b", closed);
    const auto c = open(t, "10.0.0.3", "c", closed);
    t.set_idle(*b, true);  // b idle first, then c; a busy
    t.set_idle(*c, true);
    const auto d = open(t, "10.0.0.4", "d", closed);
    ASSERT_TRUE(d);
    EXPECT_EQ(closed, std::vector<std::string>{"b"});
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.evicted(), 1u);
    t.remove(*b);  // the evicted connection ending later changes nothing
    EXPECT_EQ(t.size(), 3u);
    t.set_idle(*c, false);  // c took a request: nothing idle now
    EXPECT_FALSE(open(t, "10.0.0.5", "e", closed));
    t.remove(*a);
    EXPECT_TRUE(open(t, "10.0.0.5", "e", closed));
}

TEST(connection_table, caps_each_address_and_evicts_only_that_address_idle_connections) {
    connection_table t(100, 2);
    std::vector<std::string> closed;
    const auto x1 = open(t, "127.0.0.1", "x1", closed);
    const auto x2 = open(t, "127.0.0.1", "x2", closed);
    const auto y1 = open(t, "10.0.0.9", "y1", closed);
    t.set_idle(*y1, true);  // another address's idle connection is not a candidate
    connection_table::refusal why{};
    EXPECT_FALSE(open(t, "127.0.0.1", "x3", closed, &why));  // loopback counts like any address
    EXPECT_EQ(why, connection_table::refusal::address_full);
    EXPECT_EQ(t.count("127.0.0.1"), 2u);
    t.set_idle(*x2, true);
    EXPECT_TRUE(open(t, "127.0.0.1", "x3", closed));
    EXPECT_EQ(closed, std::vector<std::string>{"x2"});
    EXPECT_EQ(t.count("127.0.0.1"), 2u);
    EXPECT_TRUE(open(t, "10.0.0.9", "y2", closed));  // its own cap is not reached
    t.remove(*x1);
    EXPECT_EQ(t.count("127.0.0.1"), 1u);
}

TEST(connection_table, zero_per_address_cap_means_none) {
    connection_table t(1000, 0);
    std::vector<std::string> closed;
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(open(t, "127.0.0.1", "x", closed));
    EXPECT_EQ(t.count("127.0.0.1"), 500u);
}

}  // namespace
