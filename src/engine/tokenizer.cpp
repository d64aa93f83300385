#include "sluice/engine/tokenizer.hpp"

#include <algorithm>
#include <cctype>

#include "encoders.hpp"
#include "pre_tokenizer.hpp"
#include "sluice/util/error.hpp"
#include "sluice/util/utf8.hpp"
#include "unicode_props.hpp"

namespace sluice::engine {
namespace {

constexpr std::string_view k_escaped_space = "\xE2\x96\x81";  // U+2581

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(s.size());
    std::size_t pos = 0;
    for (std::size_t hit; (hit = s.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
        out.append(s.substr(pos, hit - pos));
        out.append(to);
    }
    out.append(s.substr(pos));
    return out;
}

// Byte-level BPE token text -> the bytes its stand-in characters encode.
std::string decode_byte_level(std::string_view text) {
    std::string out;
    for (std::size_t pos = 0, n = 0; pos < text.size(); pos += n) {
        const char32_t cp = utf8::decode(text, pos, n);
        const int b = detail::unicode_to_byte(cp);
        if (b >= 0) {
            out += static_cast<char>(b);
        } else {
            out.append(text.substr(pos, n));  // not a byte stand-in: keep the character itself
        }
    }
    return out;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// The byte a SentencePiece byte token "<0xNN>" stands for; a malformed one is its own text.
std::string spm_byte_piece(std::string_view text) {
    if (text.size() == 6 && text.starts_with("<0x") && text.back() == '>') {
        const int hi = hex_digit(text[3]), lo = hex_digit(text[4]);
        if (hi >= 0 && lo >= 0) return std::string(1, static_cast<char>(hi * 16 + lo));
    }
    return std::string(text);
}

// clean_up_tokenization_spaces, as Hugging Face (and llama.cpp) apply it.
std::string clean_spaces(const std::string& in) {
    std::string a;  // " ?" " !" " ." " ," -> drop the space
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char x = in[i];
        if (i > 0 && in[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') && !a.empty()) a.pop_back();
        a += x;
    }
    std::string b;  // " ' " -> "'"
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = a[i];
        if (x == '\'' && i > 0 && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
            if (!b.empty()) b.pop_back();
            b += x;
            ++i;
            continue;
        }
        b += x;
    }
    std::string c;  // " 's" " 'm" " 're" " 've" -> drop the space
    for (std::size_t i = 0; i < b.size(); ++i) {
        const char x = b[i];
        if (i > 0 && b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
            const char x1 = b[i + 1];
            const char x2 = i + 2 < b.size() ? b[i + 2] : '\0';
            if (x1 == 's' || x1 == 'm' || (i + 2 < b.size() && ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')))) {
                if (!c.empty()) c.pop_back();
            }
        }
        c += x;
    }
    return c;
}

}  // namespace

tokenizer::tokenizer(engine::vocab v) : vocab_(std::make_unique<const engine::vocab>(std::move(v))) {
    if (vocab_->kind() == vocab_kind::bpe) {
        pre_ = std::make_unique<const detail::pre_tokenizer>(detail::pre_tokenizer_for(vocab_->pre_name()).regexes);
    }
    specials_by_first_byte_.resize(256);
    for (const token_id id : vocab_->special_tokens()) {
        const auto& t = vocab_->token(id).text;
        specials_by_first_byte_[static_cast<unsigned char>(t.front())].push_back(id);
    }
    pieces_.resize(vocab_->size());
    for (std::size_t i = 0; i < vocab_->size(); ++i) pieces_[i] = token_to_piece(static_cast<token_id>(i), true);
}

tokenizer::~tokenizer() = default;
tokenizer::tokenizer(tokenizer&&) noexcept = default;
tokenizer& tokenizer::operator=(tokenizer&&) noexcept = default;

std::vector<token_id> tokenizer::specials_in(std::string_view text, bool parse_special) const {
    // One pass over the text, checking only the tokens that start with the byte at hand.
    // Few distinct special tokens occur in any text, so `found` stays small.
    std::vector<token_id> found;
    for (std::size_t i = 0; i < text.size(); ++i) {
        for (const token_id id : specials_by_first_byte_[static_cast<unsigned char>(text[i])]) {
            const auto& data = vocab_->token(id);
            if (!parse_special && (data.attr & (attr_control | attr_unknown))) continue;
            if (text.compare(i, data.text.size(), data.text) == 0 &&
                std::find(found.begin(), found.end(), id) == found.end()) {
                found.push_back(id);
            }
        }
    }
    std::vector<token_id> out;  // in the vocabulary's longest-first order
    for (const token_id id : vocab_->special_tokens()) {
        if (std::find(found.begin(), found.end(), id) != found.end()) out.push_back(id);
    }
    return out;
}

namespace {

// Whether [at, at + n) overlaps one of the sorted, disjoint `ranges`.
bool overlaps(std::span<const text_range> ranges, std::size_t at, std::size_t n) {
    const auto it = std::upper_bound(ranges.begin(), ranges.end(), at, [](std::size_t pos, const text_range& r) { return pos < r.offset + r.length; });
    return it != ranges.end() && it->offset < at + n;
}

}  // namespace

std::vector<tokenizer::fragment> tokenizer::partition(std::string_view text, bool parse_special, std::span<const text_range> plain) const {
    // Longest special tokens first, each split out of every raw fragment left so far. A
    // token can only match in a fragment if it occurs in the text, so only those are tried.
    std::vector<fragment> frags;
    if (!text.empty()) frags.push_back({no_token, 0, text.size()});
    std::vector<fragment> next;
    for (const token_id sid : specials_in(text, parse_special)) {
        const auto& data = vocab_->token(sid);
        const std::string_view needle = data.text;
        const bool guarded = !plain.empty() && (data.attr & (attr_control | attr_unknown)) != 0;
        next.clear();
        bool changed = false;
        for (const auto& f : frags) {
            if (f.token != no_token) {
                next.push_back(f);
                continue;
            }
            std::size_t begin = f.offset, from = f.offset;
            const std::size_t end = f.offset + f.length;
            while (from < end) {
                const std::size_t hit = text.substr(0, end).find(needle, from);
                if (hit == std::string_view::npos) break;
                if (guarded && overlaps(plain, hit, needle.size())) {  // client text: stays text
                    from = hit + 1;
                    continue;
                }
                changed = true;
                std::size_t left_end = hit;
                if (data.attr & attr_lstrip) {
                    while (left_end > begin && std::isspace(static_cast<unsigned char>(text[left_end - 1]))) --left_end;
                }
                if (left_end > begin) next.push_back({no_token, begin, left_end - begin});
                next.push_back({sid, hit, needle.size()});
                begin = hit + needle.size();
                if (data.attr & attr_rstrip) {
                    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
                }
                from = begin;
            }
            if (begin < end) next.push_back({no_token, begin, end - begin});
        }
        if (changed) frags.swap(next);
    }
    return frags;
}

void tokenizer::encode_text(std::string_view text, bool prefix_space, std::vector<token_id>& out) const {
    switch (vocab_->kind()) {
        case vocab_kind::spm: {
            std::string s = prefix_space ? " " : "";
            s.append(text);
            detail::spm_encode(*vocab_, replace_all(s, " ", k_escaped_space), out);
            break;
        }
        case vocab_kind::bpe:
            if (vocab_->flags().byte_level) {
                detail::bpe_encode(*vocab_, *pre_, text, out);
            } else {  // SentencePiece-shaped BPE: spaces are U+2581 in its tokens; no dummy prefix
                detail::bpe_encode(*vocab_, *pre_, replace_all(text, " ", k_escaped_space), out);
            }
            break;
        case vocab_kind::wpm: detail::wpm_encode(*vocab_, text, out); break;
    }
}

std::vector<token_id> tokenizer::tokenize(std::string_view raw, bool add_special, bool parse_special) const {
    return encode(raw, add_special, parse_special, {});
}

std::vector<token_id> tokenizer::tokenize(std::string_view text, bool add_special, std::span<const text_range> plain) const {
    if (!plain.empty() && !utf8::is_valid(text)) throw error(errc::invalid_argument, "tokenize: guarded text must be valid UTF-8");
    return encode(text, add_special, true, plain);
}

std::vector<token_id> tokenizer::encode(std::string_view raw, bool add_special, bool parse_special, std::span<const text_range> plain) const {
    const auto& v = *vocab_;
    // SentencePiece keeps invalid bytes (they become byte tokens); the regex- and
    // normaliser-based kinds work on code points, so invalid bytes become U+FFFD there.
    const std::string text = v.kind() == vocab_kind::spm || utf8::is_valid(raw) ? std::string(raw) : utf8::sanitize(raw);
    const auto& sp = v.special();
    const bool spm = v.kind() == vocab_kind::spm;
    const bool wpm = v.kind() == vocab_kind::wpm;
    std::vector<token_id> out;
    if (add_special && (wpm || v.flags().add_bos)) out.push_back(sp.bos);
    bool prev_special = true;  // SentencePiece adds its dummy prefix after BOS / special tokens
    for (const auto& f : partition(text, parse_special, plain)) {
        if (f.token != no_token) {
            out.push_back(f.token);
            prev_special = true;
            continue;
        }
        encode_text(std::string_view(text).substr(f.offset, f.length), spm && v.flags().add_space_prefix && prev_special, out);
        prev_special = false;
    }
    if (add_special && wpm) {
        if (sp.sep != no_token) out.push_back(sp.sep);
    } else if (add_special && v.flags().add_eos) {
        out.push_back(sp.eos);
    }
    return out;
}

const std::string& tokenizer::piece(token_id id) const {
    if (!vocab_->contains(id)) throw error(errc::out_of_range, "token id " + std::to_string(id) + " is outside the vocabulary");
    return pieces_[static_cast<std::size_t>(id)];
}

std::string tokenizer::token_to_piece(token_id id, bool special) const {
    if (!vocab_->contains(id)) throw error(errc::out_of_range, "token id " + std::to_string(id) + " is outside the vocabulary");
    const auto& t = vocab_->token(id);
    if (t.attr & (attr_unknown | attr_control)) return special ? t.text : std::string();
    if (t.attr & attr_user_defined) return t.text;
    const bool byte_level = vocab_->kind() == vocab_kind::bpe && vocab_->flags().byte_level;
    if (t.attr & attr_normal) {
        if (byte_level) return decode_byte_level(t.text);
        return replace_all(t.text, k_escaped_space, " ");
    }
    if (t.attr & attr_byte) {
        if (byte_level) return decode_byte_level(t.text);
        return spm_byte_piece(t.text);
    }
    return {};
}

std::string tokenizer::detokenize(std::span<const token_id> ids, bool remove_special, bool unparse_special) const {
    const auto& v = *vocab_;
    bool remove_space = v.flags().add_space_prefix;
    if (remove_special && v.flags().add_bos && !ids.empty() && ids.front() == v.special().bos) {
        remove_space = false;
        ids = ids.subspan(1);
    }
    if (remove_special && v.flags().add_eos && !ids.empty() && ids.back() == v.special().eos) {
        ids = ids.subspan(0, ids.size() - 1);
    }
    std::string out;
    for (const token_id id : ids) {
        const std::string& p = unparse_special ? piece(id) : token_to_piece(id, false);
        if (remove_space && !p.empty() && p.front() == ' ') {
            out.append(p, 1);
        } else {
            out += p;
        }
        remove_space = false;
    }
    return v.flags().clean_spaces ? clean_spaces(out) : out;
}

}  // namespace sluice::engine
