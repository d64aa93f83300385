#include "sluice/engine/block_manager.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "sluice/util/error.hpp"

namespace {

using sluice::engine::block_manager;
using sluice::engine::token_id;

std::vector<token_id> iota_tokens(std::size_t n, token_id first = 0) {
    std::vector<token_id> t(n);
    std::iota(t.begin(), t.end(), first);
    return t;
}

// Publishes the full blocks of `tokens` held in `table`, as the scheduler does.
void publish_all(block_manager& bm, const std::vector<std::uint32_t>& table, const std::vector<token_id>& tokens) {
    const std::size_t bs = bm.block_size();
    for (std::size_t i = 0; (i + 1) * bs <= tokens.size() && i < table.size(); ++i) {
        bm.publish(table[i], i == 0 ? block_manager::npos : table[i - 1], std::span<const token_id>(tokens).subspan(i * bs, bs));
    }
}

// A sequence over `tokens` from start to finish: reserve and allocate `n_blocks`, publish
// the full ones, release leaf first. Returns its table.
std::vector<std::uint32_t> run_sequence(block_manager& bm, const std::vector<token_id>& tokens, std::size_t n_blocks, bool release = true) {
    EXPECT_TRUE(bm.reserve(n_blocks));
    std::vector<std::uint32_t> table;
    for (std::size_t i = 0; i < n_blocks; ++i) table.push_back(bm.allocate());
    publish_all(bm, table, tokens);
    if (release) {
        for (auto b = table.rbegin(); b != table.rend(); ++b) bm.release(*b);
    }
    return table;
}

TEST(block_manager, reservation_bounds_allocation) {
    block_manager bm(4, 16, 0);
    EXPECT_TRUE(bm.reserve(3));
    EXPECT_FALSE(bm.reserve(2));  // 4 blocks, 3 promised
    EXPECT_TRUE(bm.reserve(1));
    const auto a = bm.allocate(), b = bm.allocate();
    EXPECT_NE(a, b);
    EXPECT_EQ(bm.used(), 2u);
    EXPECT_EQ(bm.reserved(), 2u);
    bm.unreserve(2);
    EXPECT_THROW(bm.allocate(), sluice::error);  // nothing reserved
    bm.release(a);
    bm.release(b);
    EXPECT_EQ(bm.used(), 0u);
    EXPECT_EQ(bm.free(), 4u);
    EXPECT_THROW(bm.release(a), sluice::error);
}

TEST(block_manager, reuses_the_longest_published_prefix_and_leaves_one_token) {
    block_manager bm(8, 4, 8);
    const auto tokens = iota_tokens(10);  // blocks [0..3] [4..7], 2 tokens spare
    const auto table = run_sequence(bm, tokens, 3);
    EXPECT_EQ(bm.used(), 0u);
    EXPECT_EQ(bm.cached(), 2u);  // the partial third block is not kept

    auto same = bm.acquire_prefix(tokens);
    EXPECT_EQ(same, (std::vector<std::uint32_t>{table[0], table[1]}));
    EXPECT_EQ(bm.used(), 2u);
    EXPECT_EQ(bm.cached(), 0u);
    for (auto b : same) bm.release(b);

    // A prompt of exactly 8 tokens keeps its last token to compute: only one block.
    EXPECT_EQ(bm.acquire_prefix(iota_tokens(8)).size(), 1u);
    bm.release(table[0]);
    // A different second block stops the chain; a different first block matches nothing.
    auto other = tokens;
    other[5] = 99;
    EXPECT_EQ(bm.acquire_prefix(other).size(), 1u);
    bm.release(table[0]);
    other[0] = 99;
    EXPECT_TRUE(bm.acquire_prefix(other).empty());
    // The same second block under a different parent is a different key.
    EXPECT_TRUE(bm.acquire_prefix(iota_tokens(10, 4)).empty());
}

TEST(block_manager, shared_blocks_live_until_the_last_reference) {
    block_manager bm(4, 2, 4);
    const auto tokens = iota_tokens(5);
    const auto table = run_sequence(bm, tokens, 2, false);
    const auto shared = bm.acquire_prefix(tokens);  // a second sequence, while the first still runs
    ASSERT_EQ(shared.size(), 2u);
    EXPECT_EQ(bm.used(), 2u);
    for (auto b : table) bm.release(b);
    EXPECT_EQ(bm.used(), 2u);  // still held by the second
    for (auto b : shared) bm.release(b);
    EXPECT_EQ(bm.used(), 0u);
    EXPECT_EQ(bm.cached(), 2u);
}

TEST(block_manager, lru_bound_and_eviction_under_pressure) {
    block_manager bm(4, 2, 2);  // at most 2 cached blocks
    run_sequence(bm, iota_tokens(5, 0), 2);
    run_sequence(bm, iota_tokens(5, 100), 2);
    EXPECT_EQ(bm.cached(), 2u);
    EXPECT_EQ(bm.free(), 2u);
    // The most recent sequence's blocks survived; the first's are gone.
    EXPECT_EQ(bm.acquire_prefix(iota_tokens(5, 100)).size(), 2u);
    EXPECT_TRUE(bm.acquire_prefix(iota_tokens(5, 0)).empty());
    // With two blocks held and two free, reserving three is refused; the cache holds nothing evictable now.
    EXPECT_FALSE(bm.reserve(3));
}

TEST(block_manager, allocation_evicts_cached_blocks_when_nothing_is_free) {
    block_manager bm(2, 2, 2);
    const auto tokens = iota_tokens(5);
    run_sequence(bm, tokens, 2);
    EXPECT_EQ(bm.cached(), 2u);
    EXPECT_TRUE(bm.reserve(2));  // cached blocks count as available
    bm.allocate();
    bm.allocate();
    EXPECT_EQ(bm.cached(), 0u);
    EXPECT_TRUE(bm.acquire_prefix(tokens).empty());  // their contents are gone
}

}  // namespace
