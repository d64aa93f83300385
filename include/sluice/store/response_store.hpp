// Persistent storage of OpenAI Responses API objects (`store: true`,
// `previous_response_id`, GET/DELETE /v1/responses/{id}) in one SQLite file
// (WAL mode) under a data directory. Bounded by a TTL and a total payload size,
// evicted oldest first; an entry is visible only to the owner that stored it.
// Schema, durability and bounds: docs/store.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::store {

struct stored_response {
    std::string id;             // "resp_..." (unique)
    std::string owner;          // who may read it: an API key id (never the key), "" when the server has no keys
    std::int64_t created_at = 0;  // unix seconds
    std::string response_json;  // the Response object as it was returned to the client
    std::string input_json;     // this request's input items (a JSON array), for GET /v1/responses/{id}/input_items
    std::string history_json;   // the whole conversation up to and including this response's output items (a JSON array of items), to continue from with previous_response_id
};

struct store_options {
    std::filesystem::path dir;              // created if missing (mode 0700); the file is dir / "responses.sqlite3"
    std::chrono::seconds ttl{30 * 24 * 3600};  // older entries are not found and are deleted
    std::uint64_t max_bytes = 512ull << 20; // past this total payload size the oldest entries are deleted
};

// Thread-safe: every method may be called from any thread (one connection guarded by a mutex, or a small pool).
// Several stores (in this or other processes) may open the same directory: SQLite's
// file locks serialise writers, and a writer waits up to 5 s for the lock (busy_timeout)
// before put() throws sluice::error (errc::io).
class response_store {
public:
    explicit response_store(store_options options);   // throws sluice::error (errc::io) naming the path when it cannot open/create
    // (also errc::io, file left untouched, when the file is not an SQLite database, is
    // corrupt, or is an SQLite database that is not a sluice store or is of a newer schema)
    ~response_store();
    response_store(const response_store&) = delete;
    response_store& operator=(const response_store&) = delete;

    // Durable when it returns (WAL, synchronous=NORMAL is durable against process crashes; say in the comment what it means for power loss). Replaces an entry with the same id. Evicts expired and, past max_bytes, oldest entries.
    // Power loss / OS crash: the database stays consistent (never corrupted), but the
    // puts committed since the last WAL checkpoint may be rolled back (synchronous=NORMAL
    // does not fsync the WAL on every commit; checkpoints do).
    // The new entry's own payload counts towards max_bytes and is never the one evicted:
    // older entries go first (by created_at, then insertion order). An entry whose payload
    // alone exceeds max_bytes is rejected with sluice::error (errc::out_of_range).
    // Payload size = id + owner + response_json + input_json + history_json bytes.
    // Throws sluice::error (errc::io) when SQLite fails (disk full, lock timeout); the
    // store is then unchanged.
    void put(const stored_response& r);
    // Not found (nullopt) when absent, expired, or owned by someone else.
    std::optional<stored_response> get(std::string_view id, std::string_view owner);
    // True when an entry was deleted (same visibility rule).
    bool remove(std::string_view id, std::string_view owner);
    struct usage { std::uint64_t entries = 0, bytes = 0; };
    // Counts entries not yet deleted (expired entries linger until the next put or open).
    usage current_usage();

    // SQLite's `PRAGMA integrity_check` result: "ok" when the file is sound.
    // For tests and `sluice status`-style diagnostics; reads the whole file.
    std::string integrity_check();
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    struct impl;
    store_options options_;
    std::filesystem::path path_;
    std::mutex mutex_;
    std::unique_ptr<impl> impl_;
};

// The default data directory: $XDG_DATA_HOME/sluice, else $HOME/.local/share/sluice.
// (A relative $XDG_DATA_HOME is ignored, as the XDG spec says; without $HOME the
// password database's home directory is used; throws sluice::error (errc::io) if none.)
std::filesystem::path default_data_dir();

}  // namespace sluice::store
