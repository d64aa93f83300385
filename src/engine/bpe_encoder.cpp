// BPE. Each pre-tokenized word becomes one symbol per byte (byte-level vocabularies: the
// byte's stand-in character is a token of every one) or per UTF-8 character
// (SentencePiece-shaped vocabularies such as Gemma 4's, whose text is raw UTF-8 with spaces
// already escaped as U+2581); adjacent symbols are merged lowest-rank first (leftmost on
// ties) until no merge applies. A symbol that is not a token (a character outside the
// vocabulary) is emitted as the tokens of its bytes.
#include <algorithm>
#include <string>

#include "encoders.hpp"
#include "pre_tokenizer.hpp"
#include "sluice/util/utf8.hpp"
#include "unicode_props.hpp"

namespace sluice::engine::detail {
namespace {

struct symbol {
    int prev;
    int next;
    token_id id;        // no_token: merged text that is not a token (emitted as bytes)
    std::size_t begin;  // byte range in the word
    std::size_t size;
};

struct candidate {
    std::int32_t rank;
    int left;
    token_id left_id;
    token_id right_id;
    // std heap is a max-heap: "greater" means lower priority.
    bool operator<(const candidate& o) const { return rank > o.rank || (rank == o.rank && left > o.left); }
};

class bpe_session {
public:
    explicit bpe_session(const vocab& v) : v_(v) {}

    void encode_word(std::string_view word, std::vector<token_id>& out) {
        if (v_.flags().ignore_merges) {
            encoded_.clear();
            if (v_.flags().byte_level) {
                for (char c : word) encoded_ += byte_to_unicode(static_cast<unsigned char>(c));
            } else {
                encoded_ = word;
            }
            if (const token_id whole = v_.find(encoded_); whole != no_token) {
                out.push_back(whole);
                return;
            }
        }
        if (v_.flags().whole_newline_runs && word.find_first_not_of('\n') == std::string_view::npos) {
            if (const token_id whole = v_.find(word); whole != no_token) {
                out.push_back(whole);
                return;
            }
        }
        symbols_.clear();
        heap_.clear();
        if (v_.flags().byte_level) {
            for (std::size_t i = 0; i < word.size(); ++i) add_symbol(v_.byte_token(static_cast<std::uint8_t>(word[i])), i, 1);
        } else {
            for (std::size_t i = 0, len = 0; i < word.size(); i += len) {
                len = std::min(word.size() - i, utf8::sequence_length(static_cast<unsigned char>(word[i])));
                add_symbol(v_.find(word.substr(i, len)), i, len);
            }
        }
        const int n = static_cast<int>(symbols_.size());
        if (n > 0) symbols_.back().next = -1;
        for (int i = 1; i < n; ++i) consider(i - 1, i);
        while (!heap_.empty()) {
            std::pop_heap(heap_.begin(), heap_.end());
            const candidate c = heap_.back();
            heap_.pop_back();
            auto& l = symbols_[static_cast<std::size_t>(c.left)];
            if (l.size == 0 || l.next < 0) continue;
            auto& r = symbols_[static_cast<std::size_t>(l.next)];
            if (l.id != c.left_id || r.id != c.right_id) continue;  // stale candidate
            l.id = v_.find_merge(l.id, r.id)->result;
            l.size += r.size;
            r.size = 0;
            l.next = r.next;
            if (r.next >= 0) symbols_[static_cast<std::size_t>(r.next)].prev = c.left;
            consider(l.prev, c.left);
            consider(c.left, l.next);
        }
        for (int i = n > 0 ? 0 : -1; i != -1; i = symbols_[static_cast<std::size_t>(i)].next) {
            const auto& s = symbols_[static_cast<std::size_t>(i)];
            if (s.id != no_token) {
                out.push_back(s.id);
                continue;
            }
            for (std::size_t k = 0; k < s.size; ++k) {
                const token_id b = v_.byte_token(static_cast<std::uint8_t>(word[s.begin + k]));
                if (b != no_token) out.push_back(b);
            }
        }
    }

private:
    void add_symbol(token_id id, std::size_t begin, std::size_t size) {
        const int i = static_cast<int>(symbols_.size());
        symbols_.push_back({i - 1, i + 1, id, begin, size});
    }

    void consider(int left, int right) {
        if (left < 0 || right < 0) return;
        const token_id a = symbols_[static_cast<std::size_t>(left)].id;
        const token_id b = symbols_[static_cast<std::size_t>(right)].id;
        if (a == no_token || b == no_token) return;
        if (const auto* m = v_.find_merge(a, b)) {
            heap_.push_back({m->rank, left, a, b});
            std::push_heap(heap_.begin(), heap_.end());
        }
    }

    const vocab& v_;
    std::string encoded_;
    std::vector<symbol> symbols_;
    std::vector<candidate> heap_;
};

}  // namespace

void bpe_encode(const vocab& v, const pre_tokenizer& pre, std::string_view text, std::vector<token_id>& out) {
    bpe_session session(v);
    for (const auto word : pre.split(text)) session.encode_word(word, out);
}

}  // namespace sluice::engine::detail
