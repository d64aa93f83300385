// Minimal leveled logger writing to stderr. Thread-safe (one line per call).
#pragma once

#include <string_view>

namespace sluice::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

void set_level(level lvl) noexcept;
level get_level() noexcept;
void write(level lvl, std::string_view message);

inline void debug(std::string_view m) { write(level::debug, m); }
inline void info(std::string_view m) { write(level::info, m); }
inline void warn(std::string_view m) { write(level::warn, m); }
inline void error(std::string_view m) { write(level::error, m); }

}  // namespace sluice::log
