// The compiled grammar: every rule is a DFA over bytes and rule references (a recursive
// transition network). The matcher runs a pushdown automaton over it: a stack frame is a
// (state, return frame) pair, a byte follows a byte edge of the top state, a reference edge
// pushes the referenced rule's start state, and an accepting state may pop.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "grammar/gbnf_ast.hpp"
#include "sluice/grammar/grammar.hpp"

namespace sluice::grammar {
class token_vocabulary;
}

namespace sluice::grammar::detail {

struct byte_edge {
    std::uint8_t lo, hi;       // inclusive byte range
    std::uint32_t target;      // state index
};

struct ref_edge {
    std::uint32_t rule;        // referenced rule
    std::uint32_t target;      // state to return to
};

struct dfa_state {
    std::uint32_t rule = 0;
    std::uint32_t bytes_begin = 0, bytes_end = 0;  // into compiled_grammar::byte_edges, sorted by lo
    std::uint32_t refs_begin = 0, refs_end = 0;    // into compiled_grammar::ref_edges
    bool accepting = false;
    bool final_only = false;   // accepting with no outgoing edges: returning here pops at once
};

struct compiled_rule {
    std::string name;
    std::uint32_t start = 0;
    bool nullable = false;
};

class state_mask_store;  // per-vocabulary caches, src/grammar/state_masks.hpp

struct compiled_grammar {
    ast_grammar ast;           // kept for printing
    std::vector<compiled_rule> rules;
    std::vector<dfa_state> states;
    std::vector<byte_edge> byte_edges;
    std::vector<ref_edge> ref_edges;
    std::uint32_t root = 0;

    // Target of byte `b` from state `s`, or k_no_state.
    static constexpr std::uint32_t k_no_state = 0xFFFFFFFFu;
    std::uint32_t byte_target(std::uint32_t s, std::uint8_t b) const noexcept {
        const dfa_state& st = states[s];
        for (std::uint32_t i = st.bytes_begin; i < st.bytes_end; ++i) {
            const byte_edge& e = byte_edges[i];
            if (b < e.lo) break;
            if (b <= e.hi) return e.target;
        }
        return k_no_state;
    }
    bool has_bytes(std::uint32_t s) const noexcept { return states[s].bytes_begin != states[s].bytes_end; }

    // Shared, lazily filled per-vocabulary mask tables (logically const; guarded).
    mutable std::mutex stores_mutex;
    mutable std::vector<std::pair<std::weak_ptr<const token_vocabulary>, std::shared_ptr<state_mask_store>>> stores;
};

// ast -> compiled grammar. Throws grammar_error (left recursion, unproductive rules, limits).
std::unique_ptr<compiled_grammar> compile_ast(ast_grammar ast, const grammar_limits& limits);

}  // namespace sluice::grammar::detail
