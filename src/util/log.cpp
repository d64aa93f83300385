#include "sluice/util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace sluice::log {
namespace {
std::atomic<level> g_level{level::info};
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

void write(level lvl, std::string_view message) {
    if (lvl < g_level.load() || lvl == level::off) return;
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "sluice %s: %.*s\n", label(lvl), static_cast<int>(message.size()),
                 message.data());
}

}  // namespace sluice::log
