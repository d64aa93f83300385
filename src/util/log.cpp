#include "sluice/util/log.hpp"

#include "sluice/util/json_text.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace sluice::log {
namespace {
std::atomic<level> g_level{level::info};
std::atomic<bool> g_json{false};
std::mutex g_mutex;

const char* label(level lvl) {
    switch (lvl) {
        case level::debug: return "debug";
        case level::info: return "info";
        case level::warn: return "warn";
        case level::error: return "error";
        case level::off: break;
    }
    return "";
}
}  // namespace

void set_level(level lvl) noexcept { g_level.store(lvl); }
level get_level() noexcept { return g_level.load(); }
void set_json(bool json) noexcept { g_json.store(json); }
bool json() noexcept { return g_json.load(); }

std::string utc_timestamp() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];  // room for any int the compiler can imagine in each field
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

void write_line(level lvl, std::string_view line) {
    if (lvl < g_level.load() || lvl == level::off) return;
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

void write(level lvl, std::string_view message) {
    if (lvl < g_level.load() || lvl == level::off) return;
    if (g_json.load()) {
        write_line(lvl, "{\"time\":\"" + utc_timestamp() + "\",\"level\":\"" + label(lvl) + "\",\"message\":" + json_quote(message) + "}");
        return;
    }
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "sluice %s: %.*s\n", label(lvl), static_cast<int>(message.size()), message.data());
}

}  // namespace sluice::log
