#include "connection_table.hpp"

#include <vector>

namespace sluice::http::detail {

std::unordered_map<connection_table::id, connection_table::entry>::iterator connection_table::oldest_idle(const std::string* address) {
    auto best = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (!it->second.idle || (address != nullptr && it->second.address != *address)) continue;
        if (best == entries_.end() || it->second.idle_since < best->second.idle_since) best = it;
    }
    return best;
}

void connection_table::erase(std::unordered_map<id, entry>::iterator it) {
    const auto a = per_address_.find(it->second.address);
    if (a != per_address_.end() && --a->second == 0) per_address_.erase(a);
    entries_.erase(it);
}

std::optional<connection_table::id> connection_table::admit(const std::string& address, std::function<void()> close, refusal* why) {
    std::vector<std::function<void()>> to_close;  // called after the lock is released
    std::optional<id> admitted;
    refusal reason = refusal::none;
    {
        std::lock_guard lock(mutex_);
        const auto at = per_address_.find(address);
        if (max_per_address_ > 0 && at != per_address_.end() && at->second >= max_per_address_) {
            const auto victim = oldest_idle(&address);
            if (victim == entries_.end()) {
                reason = refusal::address_full;
            } else {
                to_close.push_back(std::move(victim->second.close));
                erase(victim);
                ++evicted_;
            }
        }
        if (reason == refusal::none && entries_.size() >= max_total_) {
            const auto victim = oldest_idle(nullptr);
            if (victim == entries_.end()) {
                reason = refusal::server_full;
            } else {
                to_close.push_back(std::move(victim->second.close));
                erase(victim);
                ++evicted_;
            }
        }
        if (reason == refusal::none) {
            admitted = next_++;
            entries_.emplace(*admitted, entry{address, false, {}, std::move(close)});
            ++per_address_[address];
        }
    }
    for (auto& c : to_close) {
        if (c) c();
    }
    if (why != nullptr) *why = reason;
    return admitted;
}

void connection_table::set_idle(id conn, bool idle) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(conn);
    if (it == entries_.end()) return;
    it->second.idle = idle;
    if (idle) it->second.idle_since = clock::now();
}

void connection_table::remove(id conn) {
    std::lock_guard lock(mutex_);
    if (const auto it = entries_.find(conn); it != entries_.end()) erase(it);
}

std::size_t connection_table::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::size_t connection_table::count(const std::string& address) const {
    std::lock_guard lock(mutex_);
    const auto it = per_address_.find(address);
    return it == per_address_.end() ? 0 : it->second;
}

std::uint64_t connection_table::evicted() const {
    std::lock_guard lock(mutex_);
    return evicted_;
}

}  // namespace sluice::http::detail
