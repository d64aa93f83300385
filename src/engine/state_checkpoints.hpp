// Saved recurrent states for the prefix cache of models with recurrent layers.
//
// A recurrent layer's state after position p cannot be rebuilt from cached KV rows, so a
// cached prefix can only be resumed where the state at its exact end was saved. The
// scheduler saves a sequence's state whenever a step leaves it exactly at the end of a
// block it has published, keyed by that block's publication id (block_manager::publication):
// the id names the whole chain of tokens from position 0 and is never reused, so a
// checkpoint found under it is the state those tokens produce (the forward pass is
// batch-invariant and the recurrence runs token by token, so it is the same bits a fresh
// run computes). Checkpoints live in slots of the kv_cache's recurrent_state past the
// running sequences' own; the least recently used one is overwritten when all are taken.
// Strand-owned, with the scheduler; not thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace sluice::engine {

class state_checkpoints {
public:
    // Slots [first_slot, first_slot + n) of the recurrent_state are the checkpoints'.
    state_checkpoints(std::size_t first_slot, std::size_t n) {
        for (std::size_t i = n; i-- > 0;) free_.push_back(static_cast<std::uint32_t>(first_slot + i));
    }

    std::size_t capacity() const noexcept { return free_.size() + lru_.size(); }
    std::size_t size() const noexcept { return lru_.size(); }

    // The slot holding the state saved under `key`, marked recently used.
    std::optional<std::uint32_t> find(std::uint64_t key) {
        const auto it = index_.find(key);
        if (it == index_.end()) return std::nullopt;
        lru_.splice(lru_.end(), lru_, it->second);
        return it->second->second;
    }
    bool contains(std::uint64_t key) const { return index_.contains(key); }

    // Forgets the state saved under `key` (its slot becomes free).
    void erase(std::uint64_t key) {
        const auto it = index_.find(key);
        if (it == index_.end()) return;
        free_.push_back(it->second->second);
        lru_.erase(it->second);
        index_.erase(it);
    }

    // A slot to save the state under `key` into (an existing one for the same key, a free
    // one, or the least recently used one's); nullopt without any slot.
    std::optional<std::uint32_t> put(std::uint64_t key) {
        if (auto s = find(key)) return s;
        std::uint32_t slot = 0;
        if (!free_.empty()) {
            slot = free_.back();
            free_.pop_back();
        } else if (!lru_.empty()) {
            slot = lru_.front().second;
            index_.erase(lru_.front().first);
            lru_.pop_front();
        } else {
            return std::nullopt;
        }
        lru_.emplace_back(key, slot);
        index_[key] = std::prev(lru_.end());
        return slot;
    }

private:
    using entry = std::pair<std::uint64_t, std::uint32_t>;  // key, slot
    std::list<entry> lru_;                                   // least recently used first
    std::unordered_map<std::uint64_t, std::list<entry>::iterator> index_;
    std::vector<std::uint32_t> free_;
};

}  // namespace sluice::engine
