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

// A finished sequence's partly filled last block is published too; any published child
// lends its first rows to a prompt that continues the parent's chain with them.
TEST(block_manager, children_lend_their_first_rows) {
    block_manager bm(8, 4, 8);
    const auto tokens = iota_tokens(10);
    const auto table = run_sequence(bm, tokens, 3, false);  // blocks [0..3] [4..7] published
    bm.publish(table[2], table[1], std::span<const token_id>(tokens).subspan(8, 2));  // [8, 9]: partial
    for (auto b = table.rbegin(); b != table.rend(); ++b) bm.release(*b);
    EXPECT_EQ(bm.cached(), 3u);

    const std::vector<token_id> next{8, 9, 42};
    auto m = bm.best_child(table[1], next, 4);
    EXPECT_EQ(m.block, table[2]);
    EXPECT_EQ(m.length, 2u);
    EXPECT_EQ(bm.best_child(table[1], next, 1).length, 1u);       // bounded by max_len
    m = bm.best_child(block_manager::npos, std::vector<token_id>{0, 1, 2, 77}, 4);  // a full block's first rows
    EXPECT_EQ(m.block, table[0]);
    EXPECT_EQ(m.length, 3u);
    EXPECT_EQ(bm.best_child(block_manager::npos, std::vector<token_id>{5}, 4).block, block_manager::npos);
    EXPECT_EQ(bm.best_child(table[0], std::vector<token_id>{8}, 4).length, 0u);  // [8, 9] is not table[0]'s child
    // A partial block is never shared whole: the full-block chain stops before it.
    EXPECT_EQ(bm.acquire_prefix(iota_tokens(12)).size(), 2u);
    bm.release(table[1]);
    bm.release(table[0]);

    // hold() keeps a lender out of the cache while its rows are copied.
    bm.hold(table[2]);
    EXPECT_EQ(bm.used(), 1u);
    EXPECT_EQ(bm.cached(), 2u);
    bm.release(table[2]);
    EXPECT_EQ(bm.cached(), 3u);

    // The same contents published again stay private; an evicted parent orphans its children.
    EXPECT_TRUE(bm.reserve(1));
    const auto dup = bm.allocate();
    bm.publish(dup, table[1], std::span<const token_id>(tokens).subspan(8, 2));
    bm.release(dup);
    EXPECT_EQ(bm.cached(), 3u);
    EXPECT_TRUE(bm.reserve(8));
    for (int i = 0; i < 8; ++i) (void)bm.allocate();  // evicts every cached block
    EXPECT_EQ(bm.best_child(table[1], next, 4).length, 0u);
    EXPECT_EQ(bm.best_child(block_manager::npos, std::vector<token_id>{0, 1}, 4).length, 0u);
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

namespace {

// chain_id names the published chain holding exactly some tokens from position 0 (the
// key of a recurrent model's saved state): the last block's publication id, 0 when the
// chain does not reach, the tokens are not whole blocks, or a block of it was evicted.
TEST(block_manager, chain_id_names_the_published_chain_of_exact_tokens) {
    block_manager bm(8, 4, 8);
    const auto tokens = iota_tokens(12, 1);
    const auto table = run_sequence(bm, tokens, 3);
    const std::span<const token_id> t(tokens);
    EXPECT_EQ(bm.chain_id(t.first(4)), bm.publication(table[0]));
    EXPECT_EQ(bm.chain_id(t.first(12)), bm.publication(table[2]));
    EXPECT_NE(bm.chain_id(t.first(8)), 0u);
    EXPECT_EQ(bm.chain_id(t.first(6)), 0u);  // not whole blocks
    auto other = tokens;
    other[5] = 99;
    EXPECT_EQ(bm.chain_id(std::span<const token_id>(other).first(8)), 0u);  // leaves the chain in block 2
    EXPECT_EQ(bm.chain_id(std::span<const token_id>(other).first(4)), bm.publication(table[0]));
}

}  // namespace
