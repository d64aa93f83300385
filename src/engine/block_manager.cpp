#include "sluice/engine/block_manager.hpp"

#include <algorithm>

#include "sluice/util/error.hpp"

namespace sluice::engine {

std::size_t block_manager::key_hash::operator()(const key& k) const noexcept {
    std::uint64_t h = k.parent_uid * 0x9E3779B97F4A7C15ull;
    for (const token_id t : k.tokens) h = (h ^ static_cast<std::uint32_t>(t)) * 0x100000001B3ull;
    return static_cast<std::size_t>(h ^ (h >> 29));
}

block_manager::block_manager(std::size_t n_blocks, std::size_t block_size, std::size_t max_cached)
    : block_size_(block_size), max_cached_(max_cached), blocks_(n_blocks) {
    if (n_blocks == 0 || n_blocks >= npos || block_size == 0) throw error(errc::invalid_argument, "block_manager: bad block count or size");
    free_.reserve(n_blocks);
    for (std::size_t b = n_blocks; b-- > 0;) free_.push_back(static_cast<std::uint32_t>(b));
}

std::vector<std::uint32_t> block_manager::acquire_prefix(std::span<const token_id> tokens) {
    std::vector<std::uint32_t> chain;
    key k{0, {}};
    for (std::size_t pos = 0; pos + block_size_ < tokens.size(); pos += block_size_) {  // < : one token left over
        k.tokens.assign(tokens.begin() + static_cast<std::ptrdiff_t>(pos), tokens.begin() + static_cast<std::ptrdiff_t>(pos + block_size_));
        const auto it = published_.find(k);  // a full-length key: only full blocks match
        if (it == published_.end()) break;
        const std::uint32_t b = it->second;
        hold(b);
        chain.push_back(b);
        k.parent_uid = blocks_[b].uid;
    }
    return chain;
}

std::uint64_t block_manager::chain_id(std::span<const token_id> tokens) const {
    if (tokens.empty() || tokens.size() % block_size_ != 0) return 0;
    key k{0, {}};
    for (std::size_t pos = 0; pos < tokens.size(); pos += block_size_) {
        k.tokens.assign(tokens.begin() + static_cast<std::ptrdiff_t>(pos), tokens.begin() + static_cast<std::ptrdiff_t>(pos + block_size_));
        const auto it = published_.find(k);
        if (it == published_.end()) return 0;
        k.parent_uid = blocks_[it->second].uid;
    }
    return k.parent_uid;
}

bool block_manager::reserve(std::size_t n) {
    if (free_.size() + lru_.size() < reserved_ + n) return false;
    reserved_ += n;
    return true;
}

void block_manager::unreserve(std::size_t n) noexcept { reserved_ -= n < reserved_ ? n : reserved_; }

std::uint32_t block_manager::allocate() {
    if (reserved_ == 0) throw error(errc::invalid_argument, "block_manager: allocate() without a reservation");
    if (free_.empty()) evict_oldest();
    --reserved_;
    const std::uint32_t b = free_.back();
    free_.pop_back();
    blocks_[b].refs = 1;
    return b;
}

void block_manager::publish(std::uint32_t block, std::uint32_t parent, std::span<const token_id> tokens) {
    if (blocks_[block].uid != 0 || tokens.empty() || tokens.size() > block_size_) return;
    if (parent != npos && blocks_[parent].uid == 0) return;  // the chain is broken: no key can reach this block
    key k{parent == npos ? 0 : blocks_[parent].uid, {tokens.begin(), tokens.end()}};
    if (published_.contains(k)) return;
    blocks_[block].uid = next_uid_++;
    children_[k.parent_uid].push_back(block);
    published_.emplace(k, block);
    keys_.emplace(block, std::move(k));
}

void block_manager::publish_named(std::uint32_t block, std::uint64_t name) {
    if (blocks_[block].uid != 0 || name == 0) return;
    key k{name, {}};  // no tokens: never equal to a key publish() makes
    if (published_.contains(k)) return;
    blocks_[block].uid = next_uid_++;
    children_[name].push_back(block);  // best_child skips it (no tokens to match); unpublish finds it there
    published_.emplace(k, block);
    keys_.emplace(block, std::move(k));
}

std::uint32_t block_manager::find_named(std::uint64_t name) const {
    const auto it = published_.find(key{name, {}});
    return it == published_.end() ? npos : it->second;
}

block_manager::partial_match block_manager::best_child(std::uint32_t parent, std::span<const token_id> tokens, std::size_t max_len) const {
    partial_match best;
    const std::uint64_t parent_uid = parent == npos ? 0 : blocks_[parent].uid;
    if (parent != npos && parent_uid == 0) return best;  // an unpublished parent has no children
    const auto it = children_.find(parent_uid);
    if (it == children_.end()) return best;
    const std::size_t limit = std::min(max_len, tokens.size());
    for (const std::uint32_t b : it->second) {
        const auto& have = keys_.at(b).tokens;
        const std::size_t n = std::min(limit, have.size());
        std::size_t len = 0;
        while (len < n && have[len] == tokens[len]) ++len;
        if (len > best.length) best = {b, len};
    }
    return best;
}

void block_manager::hold(std::uint32_t block) {
    if (blocks_[block].refs++ == 0) take_from_lru(block);
}

void block_manager::release(std::uint32_t block) {
    auto& s = blocks_[block];
    if (s.refs == 0) throw error(errc::invalid_argument, "block_manager: release of a free block");
    if (--s.refs > 0) return;
    if (s.uid == 0 || max_cached_ == 0) {
        unpublish(block);
        free_.push_back(block);
        return;
    }
    lru_.push_back(block);
    s.lru_pos = std::prev(lru_.end());
    while (lru_.size() > max_cached_) evict_oldest();
}

void block_manager::unpublish(std::uint32_t block) {
    auto& s = blocks_[block];
    if (s.uid == 0) return;
    const auto it = keys_.find(block);
    auto& siblings = children_[it->second.parent_uid];
    std::erase(siblings, block);
    if (siblings.empty()) children_.erase(it->second.parent_uid);
    published_.erase(it->second);
    keys_.erase(it);
    s.uid = 0;  // children keyed by this uid can no longer be reached; uids are never reused
}

void block_manager::take_from_lru(std::uint32_t block) { lru_.erase(blocks_[block].lru_pos); }

void block_manager::evict_oldest() {
    const std::uint32_t b = lru_.front();
    lru_.pop_front();
    unpublish(b);
    free_.push_back(b);
}

}  // namespace sluice::engine
