#include "sluice/store/response_store.hpp"

#include "sluice/util/error.hpp"

#include <sqlite3.h>

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace sluice::store {

namespace {

constexpr int schema_version = 1;
constexpr int application_id = 0x736c6331;  // "slc1": marks the file as a sluice response store

// Version 1. `usage` holds the running totals (kept by triggers) so the size bound
// costs one row read per put; `seq` (the rowid) orders entries with equal created_at.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS responses (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    response_json TEXT NOT NULL,
    input_json TEXT NOT NULL,
    history_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_created_at ON responses(created_at);
CREATE TABLE IF NOT EXISTS usage (
    k INTEGER PRIMARY KEY CHECK (k = 0),
    entries INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO usage VALUES (0, 0, 0);
CREATE TRIGGER IF NOT EXISTS responses_count_insert AFTER INSERT ON responses BEGIN
    UPDATE usage SET entries = entries + 1, bytes = bytes + NEW.bytes WHERE k = 0;
END;
CREATE TRIGGER IF NOT EXISTS responses_count_delete AFTER DELETE ON responses BEGIN
    UPDATE usage SET entries = entries - 1, bytes = bytes - OLD.bytes WHERE k = 0;
END;
CREATE TRIGGER IF NOT EXISTS responses_count_update AFTER UPDATE OF bytes ON responses BEGIN
    UPDATE usage SET bytes = bytes - OLD.bytes + NEW.bytes WHERE k = 0;
END;
)sql";

struct stmt_deleter {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_deleter>;

// Resets and clears bindings on scope exit, so a throw never leaves a statement busy.
struct stmt_use {
    sqlite3_stmt* s;
    explicit stmt_use(const stmt_ptr& p) : s(p.get()) {}
    ~stmt_use() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    stmt_use(const stmt_use&) = delete;
    stmt_use& operator=(const stmt_use&) = delete;
};

std::string column_string(sqlite3_stmt* s, int col) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s, col));
    const int n = sqlite3_column_bytes(s, col);
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::int64_t now_unix() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

struct response_store::impl {
    std::string path;  // for messages
    sqlite3* db = nullptr;
    stmt_ptr begin, commit, rollback, expire, erase_id, insert, totals, oldest, erase_seq, select,
        erase_visible;

    ~impl() {
        for (auto* s : {&begin, &commit, &rollback, &expire, &erase_id, &insert, &totals, &oldest,
                        &erase_seq, &select, &erase_visible})
            s->reset();
        if (db) sqlite3_close_v2(db);  // checkpoints and removes the WAL when last
    }

    [[noreturn]] void fail(const std::string& what) const {
        std::string msg = "response store " + path + ": " + what + ": " +
                          (db ? sqlite3_errmsg(db) : "out of memory");
        const int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_NOMEM;
        if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
            msg += " (not an SQLite database, or a corrupt one; the file was left as it is)";
        throw error(errc::io, msg);
    }
    void check(int rc, const char* what) const {
        if (rc != SQLITE_OK) fail(what);
    }
    void exec(const char* sql, const char* what) const {
        check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), what);
    }
    stmt_ptr prepare(const char* sql) const {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
            fail(std::string("preparing `") + sql + "`");
        return stmt_ptr(s);
    }
    std::int64_t pragma_int(const char* sql) const {
        stmt_ptr s = prepare(sql);
        const int rc = sqlite3_step(s.get());
        if (rc != SQLITE_ROW) fail(sql);
        return sqlite3_column_int64(s.get(), 0);
    }
    // Steps a statement that returns no rows.
    void run(const stmt_ptr& s, const char* what) const {
        if (sqlite3_step(s.get()) != SQLITE_DONE) fail(what);
    }
    void bind_text(sqlite3_stmt* s, int i, std::string_view v) const {
        check(sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8), "binding");
    }
    void bind_int(sqlite3_stmt* s, int i, std::int64_t v) const {
        check(sqlite3_bind_int64(s, i, v), "binding");
    }

    // A write transaction; rolled back unless committed.
    struct transaction {
        impl& self;
        bool done = false;
        explicit transaction(impl& s) : self(s) {
            stmt_use u(self.begin);
            self.run(self.begin, "beginning a write transaction");
        }
        void commit() {
            stmt_use u(self.commit);
            self.run(self.commit, "committing");
            done = true;
        }
        ~transaction() {
            if (done) return;
            stmt_use u(self.rollback);
            sqlite3_step(self.rollback.get());  // may fail harmlessly if SQLite already rolled back
        }
        transaction(const transaction&) = delete;
        transaction& operator=(const transaction&) = delete;
    };

    void delete_expired(std::int64_t cutoff) {
        stmt_use u(expire);
        bind_int(expire.get(), 1, cutoff);
        run(expire, "deleting expired entries");
    }
    response_store::usage read_totals() {
        stmt_use u(totals);
        if (sqlite3_step(totals.get()) != SQLITE_ROW) fail("reading usage");
        return {static_cast<std::uint64_t>(sqlite3_column_int64(totals.get(), 0)),
                static_cast<std::uint64_t>(sqlite3_column_int64(totals.get(), 1))};
    }
};

response_store::response_store(store_options options)
    : options_(std::move(options)), path_(options_.dir / "responses.sqlite3"),
      impl_(std::make_unique<impl>()) {
    auto& d = *impl_;
    d.path = path_.string();
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(options_.dir, ec)) {
        if (!fs::create_directories(options_.dir, ec) && ec)
            throw error(errc::io, "response store: cannot create " + options_.dir.string() + ": " +
                                      ec.message());
        fs::permissions(options_.dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    }
    if (!fs::is_directory(options_.dir, ec))
        throw error(errc::io, "response store: " + options_.dir.string() + " is not a directory");

    const int rc = sqlite3_open_v2(d.path.c_str(), &d.db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) d.fail("cannot open");
    sqlite3_extended_result_codes(d.db, 1);
    sqlite3_busy_timeout(d.db, 5000);
    // The first read of the file: a non-SQLite or corrupt header fails here (SQLITE_NOTADB),
    // before anything is written.
    const std::int64_t app_id = d.pragma_int("PRAGMA application_id");
    const std::int64_t version = d.pragma_int("PRAGMA user_version");
    if (app_id != 0 && app_id != application_id)
        throw error(errc::io, "response store " + d.path + ": an SQLite database of another application");
    if (version > schema_version)
        throw error(errc::io, "response store " + d.path + ": schema version " + std::to_string(version) +
                                  " is newer than this sluice understands (" +
                                  std::to_string(schema_version) + ")");
    if (app_id == 0 && d.pragma_int("SELECT count(*) FROM sqlite_schema") != 0)
        throw error(errc::io, "response store " + d.path + ": an SQLite database that is not a sluice response store");

    {
        stmt_ptr s = d.prepare("PRAGMA journal_mode=WAL");
        if (sqlite3_step(s.get()) != SQLITE_ROW) d.fail("enabling WAL");
        const std::string mode = column_string(s.get(), 0);
        if (mode != "wal") throw error(errc::io, "response store " + d.path + ": journal mode is " + mode + ", not wal");
    }
    d.exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; PRAGMA journal_size_limit=67108864",
           "setting pragmas");

    // Schema creation races with other processes opening the same new file: IMMEDIATE takes
    // the write lock first, and every statement is IF NOT EXISTS / OR IGNORE.
    d.exec("BEGIN IMMEDIATE", "beginning schema creation");
    const std::string create = std::string(schema_sql) +
                               "PRAGMA application_id=" + std::to_string(application_id) +
                               "; PRAGMA user_version=" + std::to_string(schema_version) + ";";
    if (sqlite3_exec(d.db, create.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
        const std::string msg = sqlite3_errmsg(d.db);
        sqlite3_exec(d.db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw error(errc::io, "response store " + d.path + ": creating the schema: " + msg);
    }
    d.exec("COMMIT", "committing the schema");

    d.begin = d.prepare("BEGIN IMMEDIATE");
    d.commit = d.prepare("COMMIT");
    d.rollback = d.prepare("ROLLBACK");
    d.expire = d.prepare("DELETE FROM responses WHERE created_at < ?1");
    d.erase_id = d.prepare("DELETE FROM responses WHERE id = ?1");
    d.insert = d.prepare(
        "INSERT INTO responses (id, owner, created_at, bytes, response_json, input_json, history_json) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    d.totals = d.prepare("SELECT entries, bytes FROM usage WHERE k = 0");
    d.oldest = d.prepare("SELECT seq, bytes FROM responses WHERE id <> ?1 ORDER BY created_at, seq");
    d.erase_seq = d.prepare("DELETE FROM responses WHERE seq = ?1");
    d.select = d.prepare(
        "SELECT id, owner, created_at, response_json, input_json, history_json FROM responses "
        "WHERE id = ?1 AND owner = ?2 AND created_at >= ?3");
    d.erase_visible = d.prepare("DELETE FROM responses WHERE id = ?1 AND owner = ?2 AND created_at >= ?3");

    impl::transaction t(d);
    d.delete_expired(now_unix() - options_.ttl.count());
    t.commit();
}

response_store::~response_store() = default;

void response_store::put(const stored_response& r) {
    const std::uint64_t bytes = r.id.size() + r.owner.size() + r.response_json.size() +
                                r.input_json.size() + r.history_json.size();
    if (bytes > options_.max_bytes)
        throw error(errc::out_of_range, "response store: entry " + r.id + " (" + std::to_string(bytes) +
                                            " bytes) exceeds the store's size bound (" +
                                            std::to_string(options_.max_bytes) + " bytes)");
    std::lock_guard lock(mutex_);
    auto& d = *impl_;
    impl::transaction t(d);
    d.delete_expired(now_unix() - options_.ttl.count());
    {
        stmt_use u(d.erase_id);
        d.bind_text(d.erase_id.get(), 1, r.id);
        d.run(d.erase_id, "replacing an entry");
    }
    {
        stmt_use u(d.insert);
        auto* s = d.insert.get();
        d.bind_text(s, 1, r.id);
        d.bind_text(s, 2, r.owner);
        d.bind_int(s, 3, r.created_at);
        d.bind_int(s, 4, static_cast<std::int64_t>(bytes));
        d.bind_text(s, 5, r.response_json);
        d.bind_text(s, 6, r.input_json);
        d.bind_text(s, 7, r.history_json);
        d.run(d.insert, "inserting an entry");
    }
    std::uint64_t total = d.read_totals().bytes;
    if (total > options_.max_bytes) {
        std::vector<std::int64_t> victims;
        {
            stmt_use u(d.oldest);
            d.bind_text(d.oldest.get(), 1, r.id);
            int rc;
            while (total > options_.max_bytes && (rc = sqlite3_step(d.oldest.get())) == SQLITE_ROW) {
                victims.push_back(sqlite3_column_int64(d.oldest.get(), 0));
                total -= static_cast<std::uint64_t>(sqlite3_column_int64(d.oldest.get(), 1));
            }
            if (total > options_.max_bytes && rc != SQLITE_DONE) d.fail("listing the oldest entries");
        }
        for (std::int64_t seq : victims) {
            stmt_use u(d.erase_seq);
            d.bind_int(d.erase_seq.get(), 1, seq);
            d.run(d.erase_seq, "evicting an entry");
        }
    }
    t.commit();
}

std::optional<stored_response> response_store::get(std::string_view id, std::string_view owner) {
    std::lock_guard lock(mutex_);
    auto& d = *impl_;
    stmt_use u(d.select);
    auto* s = d.select.get();
    d.bind_text(s, 1, id);
    d.bind_text(s, 2, owner);
    d.bind_int(s, 3, now_unix() - options_.ttl.count());
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::nullopt;
    if (rc != SQLITE_ROW) d.fail("reading an entry");
    stored_response r;
    r.id = column_string(s, 0);
    r.owner = column_string(s, 1);
    r.created_at = sqlite3_column_int64(s, 2);
    r.response_json = column_string(s, 3);
    r.input_json = column_string(s, 4);
    r.history_json = column_string(s, 5);
    return r;
}

bool response_store::remove(std::string_view id, std::string_view owner) {
    std::lock_guard lock(mutex_);
    auto& d = *impl_;
    stmt_use u(d.erase_visible);
    auto* s = d.erase_visible.get();
    d.bind_text(s, 1, id);
    d.bind_text(s, 2, owner);
    d.bind_int(s, 3, now_unix() - options_.ttl.count());
    d.run(d.erase_visible, "deleting an entry");
    return sqlite3_changes(d.db) > 0;
}

response_store::usage response_store::current_usage() {
    std::lock_guard lock(mutex_);
    return impl_->read_totals();
}

std::string response_store::integrity_check() {
    std::lock_guard lock(mutex_);
    auto& d = *impl_;
    stmt_ptr s = d.prepare("PRAGMA integrity_check");
    std::string out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        if (!out.empty()) out += '\n';
        out += column_string(s.get(), 0);
    }
    if (rc != SQLITE_DONE) d.fail("integrity_check");
    return out;
}

std::filesystem::path default_data_dir() {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg == '/')
        return std::filesystem::path(xdg) / "sluice";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".local" / "share" / "sluice";
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_dir &&
        *found->pw_dir)
        return std::filesystem::path(found->pw_dir) / ".local" / "share" / "sluice";
    throw error(errc::io, "no data directory: neither $XDG_DATA_HOME nor $HOME is set");
}

}  // namespace sluice::store
