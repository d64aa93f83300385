// SentencePiece BPE: start from UTF-8 characters, repeatedly merge the adjacent pair
// whose concatenation is the highest-scoring token (leftmost on ties), then emit each
// symbol as its token. Merges only ever form vocabulary tokens, so a symbol that is not
// a token is a single character outside the vocabulary: it is emitted as byte tokens.
#include <queue>

#include "encoders.hpp"
#include "sluice/util/utf8.hpp"

namespace sluice::engine::detail {
namespace {

struct symbol {
    int prev;
    int next;
    std::size_t begin;  // byte range in the text
    std::size_t size;
};

struct bigram {
    int left;
    int right;
    float score;
    std::size_t size;
    bool operator<(const bigram& o) const {  // priority_queue: top is highest score, then leftmost
        return score < o.score || (score == o.score && left > o.left);
    }
};

class spm_session {
public:
    spm_session(const vocab& v, std::string_view text) : v_(v), text_(text) {}

    void run(std::vector<token_id>& out) {
        for (std::size_t off = 0; off < text_.size();) {
            const std::size_t n = std::min(utf8::sequence_length(static_cast<unsigned char>(text_[off])), text_.size() - off);
            const int idx = static_cast<int>(symbols_.size());
            symbols_.push_back({idx - 1, off + n == text_.size() ? -1 : idx + 1, off, n});
            off += n;
        }
        for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) try_add(i - 1, i);
        while (!queue_.empty()) {
            const bigram b = queue_.top();
            queue_.pop();
            auto& l = symbols_[static_cast<std::size_t>(b.left)];
            auto& r = symbols_[static_cast<std::size_t>(b.right)];
            if (l.size == 0 || r.size == 0 || l.size + r.size != b.size) continue;  // stale
            l.size += r.size;
            r.size = 0;
            l.next = r.next;
            if (r.next >= 0) symbols_[static_cast<std::size_t>(r.next)].prev = b.left;
            try_add(l.prev, b.left);
            try_add(b.left, l.next);
        }
        for (int i = symbols_.empty() ? -1 : 0; i != -1; i = symbols_[static_cast<std::size_t>(i)].next) {
            emit(symbols_[static_cast<std::size_t>(i)], out);
        }
    }

private:
    std::string_view view(const symbol& s) const { return text_.substr(s.begin, s.size); }

    void try_add(int left, int right) {
        if (left < 0 || right < 0) return;
        const auto& l = symbols_[static_cast<std::size_t>(left)];
        const auto& r = symbols_[static_cast<std::size_t>(right)];
        const std::string_view joined = text_.substr(l.begin, l.size + r.size);
        const token_id id = v_.find(joined);
        if (id == no_token) return;
        queue_.push({left, right, v_.token(id).score, joined.size()});
    }

    void emit(const symbol& s, std::vector<token_id>& out) const {
        const std::string_view text = view(s);
        const token_id id = v_.find(text);
        if (id != no_token) {
            out.push_back(id);
            return;
        }
        for (char c : text) {
            const token_id b = v_.byte_token(static_cast<std::uint8_t>(c));
            if (b != no_token) out.push_back(b);
        }
    }

    const vocab& v_;
    std::string_view text_;
    std::vector<symbol> symbols_;
    std::priority_queue<bigram> queue_;
};

}  // namespace

void spm_encode(const vocab& v, std::string_view text, std::vector<token_id>& out) {
    spm_session(v, text).run(out);
}

}  // namespace sluice::engine::detail
