// Minimal leveled logger writing to stderr. Thread-safe (one line per call).
//
// Two formats: text ("sluice info: message", the default) and json, where every line is
// one JSON object, {"time":"2026-11-30T22:55:01.123Z","level":"info","message":"..."},
// so that a log shipper can parse all of stderr, not only the per-request records.
#pragma once

#include <string>
#include <string_view>

namespace sluice::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

void set_level(level lvl) noexcept;
level get_level() noexcept;
// json: write() emits one JSON object per line (see above). Set once, before serving.
void set_json(bool json) noexcept;
bool json() noexcept;
void write(level lvl, std::string_view message);
// Writes `line` as it is (one line, the caller's own format, e.g. a JSON object) at `lvl`.
void write_line(level lvl, std::string_view line);

// The current UTC time as RFC 3339 with milliseconds: "2026-11-30T22:55:01.123Z".
std::string utc_timestamp();

inline void debug(std::string_view m) { write(level::debug, m); }
inline void info(std::string_view m) { write(level::info, m); }
inline void warn(std::string_view m) { write(level::warn, m); }
inline void error(std::string_view m) { write(level::error, m); }

}  // namespace sluice::log
