// A byte trie of the vocabulary's pieces, laid out flat in preorder so a depth-first walk is a
// linear scan that skips a rejected subtree by jumping to subtree_end. Node 0 is the root (the
// empty prefix). Only tokens a grammar can ever allow are in it (not empty, special or EOG).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::grammar::detail {

struct token_trie {
    std::vector<std::uint8_t> byte;           // byte on the edge into the node (root: 0)
    std::vector<std::uint32_t> depth;         // bytes from the root
    std::vector<std::uint32_t> parent;        // root: 0
    std::vector<std::uint32_t> subtree_end;   // one past the node's last descendant
    std::vector<std::uint32_t> tokens_begin;  // tokens ending at node i: [tokens_begin[i], tokens_begin[i+1])
    std::vector<std::int32_t> token_ids;
    std::uint32_t max_depth = 0;

    std::size_t size() const noexcept { return byte.size(); }
    // The bytes from the root to node `n`.
    std::string path(std::uint32_t n) const;

    static token_trie build(const std::vector<std::string>& pieces, const std::vector<std::uint8_t>& eligible);
};

}  // namespace sluice::grammar::detail
