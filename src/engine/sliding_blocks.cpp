#include "sliding_blocks.hpp"

#include <algorithm>
#include <utility>

#include "sluice/util/error.hpp"

namespace sluice::engine {

sliding_blocks::sliding_blocks(std::size_t n_blocks, std::size_t block_size, std::size_t max_cached, std::size_t window,
                               std::size_t max_pass)
    : pool_(n_blocks, block_size, max_cached), window_(window), max_pass_(max_pass) {
    if (window == 0 || max_pass == 0) throw error(errc::invalid_argument, "sliding_blocks: window and pass must be positive");
}

std::size_t sliding_blocks::cap(std::size_t positions, std::size_t block_size, std::size_t window, std::size_t max_pass) noexcept {
    const std::size_t all = (positions + block_size - 1) / block_size;
    return std::min(all, (window + max_pass - 2) / block_size + 2);
}

void sliding_blocks::commit(table& t, std::size_t positions) {
    t.cap = cap(positions);
    committed_ += t.cap;
}

bool sliding_blocks::window_cached(std::span<const std::uint64_t> names, std::size_t k) const {
    for (std::size_t j = first_needed(k * pool_.block_size()); j < k; ++j) {
        if (pool_.find_named(names[j]) == block_manager::npos) return false;
    }
    return true;
}

std::size_t sliding_blocks::resumable(std::span<const std::uint64_t> names) const {
    std::size_t k = names.size();
    while (k > 0 && !window_cached(names, k)) --k;
    return k;
}

void sliding_blocks::resume(table& t, std::span<const std::uint64_t> names, std::size_t k) {
    t.blocks.assign(k, block_manager::npos);
    t.first = first_needed(k * pool_.block_size());
    t.published = k;
    for (std::size_t j = t.first; j < k; ++j) {
        const std::uint32_t b = pool_.find_named(names[j]);
        if (b == block_manager::npos) throw error(errc::invalid_argument, "sliding_blocks: resuming a prefix whose window is not cached");
        pool_.hold(b);
        t.blocks[j] = b;
    }
}

void sliding_blocks::ensure(table& t, std::size_t positions) {
    while (t.blocks.size() * pool_.block_size() < positions) {
        if (!pool_.reserve(1)) throw error(errc::out_of_range, "scheduler: the sliding-window pool is exhausted");
        t.blocks.push_back(pool_.allocate());
    }
}

void sliding_blocks::advance(table& t, std::size_t n_done, const std::function<std::uint64_t(std::size_t)>& name_of) {
    const std::size_t full = std::min(n_done / pool_.block_size(), t.blocks.size());
    for (; t.published < full; ++t.published) {
        if (t.published >= t.first) pool_.publish_named(t.blocks[t.published], name_of(t.published));
    }
    for (const std::size_t dead = std::min(first_needed(n_done), t.blocks.size()); t.first < dead; ++t.first) {
        pool_.release(std::exchange(t.blocks[t.first], block_manager::npos));
    }
}

void sliding_blocks::lend(table& t, std::uint64_t name, std::size_t n, kv_cache& cache, std::size_t n_layers) {
    const std::uint32_t from = pool_.find_named(name);
    if (from == block_manager::npos) throw error(errc::invalid_argument, "sliding_blocks: lending a block that is not cached");
    pool_.hold(from);  // out of reach of the eviction the allocation may do
    ensure(t, (t.blocks.size() + 1) * pool_.block_size());
    const std::uint32_t to = t.blocks.back();
    // Every layer in the sliding pool (a shared-KV layer copies its source's rows again: the same bytes).
    for (std::size_t l = 0; l < n_layers; ++l) {
        if (!cache.in_sliding_pool(l)) continue;
        const std::size_t k_n = n * cache.k_stride(l), v_n = n * cache.v_stride(l);
        if (cache.precision() == kv_precision::f16) {
            std::copy_n(cache.k(l, from, 0), k_n, cache.k(l, to, 0));
            std::copy_n(cache.v(l, from, 0), v_n, cache.v(l, to, 0));
        } else {
            std::copy_n(cache.k_f32(l, from, 0), k_n, cache.k_f32(l, to, 0));
            std::copy_n(cache.v_f32(l, from, 0), v_n, cache.v_f32(l, to, 0));
        }
    }
    pool_.release(from);
}

void sliding_blocks::publish_partial(table& t, std::size_t j, std::uint64_t name) {
    if (j >= t.first && j < t.blocks.size()) pool_.publish_named(t.blocks[j], name);
}

void sliding_blocks::release(table& t) {
    for (std::size_t j = t.blocks.size(); j-- > t.first;) pool_.release(t.blocks[j]);  // newest first: the oldest stay cached longest
    t.blocks.clear();
    t.first = t.published = 0;
    committed_ -= std::min(committed_, t.cap);
    t.cap = 0;
}

}  // namespace sluice::engine
