// A byte trie of the vocabulary's pieces, laid out flat in preorder so a depth-first walk is a
// linear scan that skips a rejected subtree by jumping to subtree_end. Node 0 is the root (the
// empty prefix). Only tokens a grammar can ever allow are in it (not empty, special or EOG).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::grammar::detail {

struct token_trie {
    // The fields the mask walk reads, packed per node (one cache line holds five nodes).
    struct packed_node {
        std::uint32_t subtree_end;
        std::uint32_t tokens_begin;
        std::uint16_t depth;
        std::uint8_t byte;
        std::uint8_t flags;  // k_boundary | k_has_tokens | k_big_subtree
    };
    static constexpr std::uint8_t k_boundary = 1, k_has_tokens = 2, k_big_subtree = 4;
    static constexpr std::uint32_t k_big_subtree_nodes = 1024;
    static constexpr std::size_t k_max_piece_bytes = 4096;  // longer pieces are never allowed
    std::vector<packed_node> nodes;

    std::vector<std::uint8_t> byte;           // byte on the edge into the node (root: 0)
    std::vector<std::uint32_t> depth;         // bytes from the root
    std::vector<std::uint32_t> parent;        // root: 0
    std::vector<std::uint32_t> subtree_end;   // one past the node's last descendant
    std::vector<std::uint32_t> tokens_begin;  // tokens ending at node i: [tokens_begin[i], tokens_begin[i+1])
    std::vector<std::int32_t> token_ids;
    std::vector<std::uint8_t> token_in_slice;  // parallel to token_ids: the token is in the text slice
    std::vector<std::uint8_t> boundary;        // per node: the path ends on a UTF-8 character boundary
    std::uint32_t max_depth = 0;
    std::uint32_t root_child[256] = {};       // the depth-1 node of each byte, 0 when absent

    std::size_t size() const noexcept { return byte.size(); }
    // The bytes from the root to node `n`.
    std::string path(std::uint32_t n) const;
    // The node whose path is `path`, or k_none.
    static constexpr std::uint32_t k_none = 0xFFFFFFFFu;
    std::uint32_t find(std::string_view path) const;

    // `in_slice` (by token id) fills token_in_slice.
    static token_trie build(const std::vector<std::string>& pieces, const std::vector<std::uint8_t>& eligible,
                            const std::vector<std::uint8_t>& in_slice);
};

}  // namespace sluice::grammar::detail
