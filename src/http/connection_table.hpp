// The open connections: how many in all and per client address, which of them are idle
// (a keep-alive connection waiting for its next request), and the way to close one.
//
// Admission: a new connection is admitted while the server holds fewer than `max_total`
// and its address fewer than `max_per_address` (0: no per-address cap). When either is
// reached, the connection idle longest (of all, or of that address) is closed to make
// room: a client holding idle keep-alive connections loses one before a new client is
// turned away. With none idle, the new connection is refused. Loopback addresses are
// addresses like any other (a local proxy shares one cap; see docs/operations.md).
//
// Thread-safe: connections on any strand call it. `close` callbacks run under no lock of
// the table's and must only post to the connection's own strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace sluice::http::detail {

class connection_table {
public:
    using clock = std::chrono::steady_clock;
    using id = std::uint64_t;
    enum class refusal { none, server_full, address_full };

    connection_table(std::size_t max_total, std::size_t max_per_address) : max_total_(max_total), max_per_address_(max_per_address) {}

    // Admits a connection from `address` (its id), closing an idle one first when full, or
    // refuses it (nullopt; `why` says which cap). A closed idle connection is counted out
    // at once; its own remove() later is a no-op.
    std::optional<id> admit(const std::string& address, std::function<void()> close, refusal* why = nullptr);
    // The connection waits for a next request (idle) or is handling one.
    void set_idle(id conn, bool idle);
    void remove(id conn);

    std::size_t size() const;
    std::size_t count(const std::string& address) const;
    std::uint64_t evicted() const;  // idle connections closed to make room, so far

private:
    struct entry {
        std::string address;
        bool idle = false;
        clock::time_point idle_since;
        std::function<void()> close;
    };
    // The entry idle longest, of `address` when given; end() when none is idle.
    std::unordered_map<id, entry>::iterator oldest_idle(const std::string* address);
    void erase(std::unordered_map<id, entry>::iterator it);  // under mutex_

    const std::size_t max_total_, max_per_address_;
    mutable std::mutex mutex_;
    std::unordered_map<id, entry> entries_;
    std::unordered_map<std::string, std::size_t> per_address_;
    id next_ = 1;
    std::uint64_t evicted_ = 0;
};

}  // namespace sluice::http::detail
