#include "grammar/state_masks.hpp"

#include "grammar/lookahead_classes.hpp"
#include "grammar/trie_walk.hpp"

#include <algorithm>

#include <unordered_map>

namespace sluice::grammar::detail {

namespace {
constexpr std::size_t k_max_canonical_states = 256;  // larger sub-grammars are not shared (cost)
constexpr std::uint32_t k_unnumbered = 0xFFFFFFFFu;

// Bits set in x, inline: the build targets baseline x86-64, where __builtin_popcount is a
// libgcc call per word.
inline std::uint32_t bit_count(std::uint32_t x) noexcept {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (((x + (x >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24;
}
}  // namespace

std::shared_ptr<const state_mask> vocab_mask_cache::find(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second;
}

void vocab_mask_cache::insert(const std::string& key, std::shared_ptr<const state_mask> entry) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= k_max_entries) entries_.clear();
    entries_.emplace(key, std::move(entry));
}

state_mask_store::state_mask_store(const compiled_grammar& g, std::shared_ptr<const token_vocabulary> v)
    : g_(g), vocab_(std::move(v)) {}

std::shared_ptr<state_mask_store> state_mask_store::of(const compiled_grammar& g,
                                                       const std::shared_ptr<const token_vocabulary>& v) {
    std::lock_guard lock(g.stores_mutex);
    for (auto& [vocab, store] : g.stores) {
        if (auto p = vocab.lock(); p == v) return store;
    }
    auto store = std::make_shared<state_mask_store>(g, v);
    g.stores.emplace_back(v, store);
    return store;
}

const std::vector<std::uint32_t>& state_mask_store::classes() {
    std::call_once(classes_once_, [&] {
        classes_ = lookahead_classes(g_, std::max(vocab_->trie().max_depth, vocab_->rest_trie().max_depth));
    });
    return classes_;
}

std::shared_ptr<const state_mask> state_mask_store::get(const std::vector<std::uint32_t>& chain) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(chain); it != entries_.end()) return it->second;
    }
    // Outside the lock: two threads may both compute an entry; the results are equal.
    std::string key = canonical_key(chain);
    std::shared_ptr<const state_mask> entry = key.empty() ? nullptr : vocab_->mask_cache().find(key);
    if (!entry) {
        entry = compute(chain);
        if (!key.empty()) vocab_->mask_cache().insert(key, entry);
    }
    std::lock_guard lock(mutex_);
    return entries_.emplace(chain, std::move(entry)).first->second;
}

// The sub-grammar reachable from the chain's states (byte and reference edges, accepting
// flags), with states numbered in discovery order: equal strings mean equal behaviour of the
// pushdown automaton started from the chain. Empty when the sub-grammar is too large.
std::string state_mask_store::canonical_key(const std::vector<std::uint32_t>& chain) const {
    // Per state its number in `order` (k_unnumbered when not reached): one array per thread,
    // reset on the way out, instead of a hash map filled on every call.
    thread_local std::vector<std::uint32_t> ids;
    if (ids.size() < g_.states.size()) ids.resize(g_.states.size(), k_unnumbered);
    std::vector<std::uint32_t> order;
    struct reset_ids {
        std::vector<std::uint32_t>& ids;
        std::vector<std::uint32_t>& order;
        ~reset_ids() {
            for (auto s : order) ids[s] = k_unnumbered;
        }
    } reset{ids, order};
    auto id_of = [&](std::uint32_t s) {
        if (ids[s] == k_unnumbered) {
            ids[s] = static_cast<std::uint32_t>(order.size());
            order.push_back(s);
        }
        return ids[s];
    };
    std::string key;
    key.reserve(1024);
    auto put = [&](std::uint32_t x) { key.append(reinterpret_cast<const char*>(&x), sizeof x); };
    for (auto s : chain) put(id_of(s));
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (order.size() > k_max_canonical_states) return {};
        const dfa_state& st = g_.states[order[i]];
        put(st.accepting ? 0xA0000000u : 0xB0000000u);
        for (auto e = st.bytes_begin; e < st.bytes_end; ++e) {
            const byte_edge& b = g_.byte_edges[e];
            put(static_cast<std::uint32_t>(b.lo) << 8 | b.hi);
            put(id_of(b.target));
        }
        put(0xC0000000u);
        for (auto e = st.refs_begin; e < st.refs_end; ++e) {
            const ref_edge& r = g_.ref_edges[e];
            put(id_of(g_.rules[r.rule].start));
            put(id_of(r.target));
        }
    }
    return key;
}

// The chain runs over an unknown parent (k_open): a token whose whole path stays above it is
// certain; the first trie node where a path pops into the unknown parent roots an uncertain
// subtree. At depth 0 nothing pops: the top frame has byte edges and the matcher's set holds
// its pop continuations as separate members.
std::shared_ptr<const state_mask> state_mask_store::compute(const std::vector<std::uint32_t>& chain) const {
    parse_space space(g_);
    space.set_classes(&const_cast<state_mask_store*>(this)->classes());
    auto entry = std::make_shared<state_mask>();
    std::vector<std::uint32_t> certain(vocab_->mask_words(), 0);
    trie_walker walker(space, *vocab_, certain.data(), entry.get());
    std::uint32_t f = parse_space::k_open;
    for (std::size_t i = chain.size(); i-- > 0;) f = space.frame(chain[i], f);
    walker.walk(false, 0, space.singleton(f), std::string());
    if (walker.marked) {
        std::size_t count = 0;
        for (auto w : certain) count += bit_count(w);
        if (count * 32 < certain.size()) {  // sparse: a list is smaller and faster to apply
            for (std::size_t w = 0; w < certain.size(); ++w) {
                for (std::uint32_t bits = certain[w]; bits != 0; bits &= bits - 1) {
                    entry->certain_ids.push_back(static_cast<std::uint32_t>(w * 32 + static_cast<std::size_t>(__builtin_ctz(bits))));
                }
            }
        } else {
            entry->certain = std::move(certain);
        }
    }
    return entry;
}

}  // namespace sluice::grammar::detail
