// The three tokenization algorithms over one raw-text fragment. Engine-internal.
// Each appends ids to `out`; `text` is valid UTF-8.
#pragma once

#include <string_view>
#include <vector>

#include "sluice/engine/vocab.hpp"

namespace sluice::engine::detail {

class pre_tokenizer;

// SentencePiece BPE: `text` already has spaces escaped as U+2581.
void spm_encode(const vocab& v, std::string_view text, std::vector<token_id>& out);

// Byte-level BPE: pre-tokenize, map bytes to their stand-in code points, merge by rank.
void bpe_encode(const vocab& v, const pre_tokenizer& pre, std::string_view text, std::vector<token_id>& out);

// WordPiece: BERT normalisation, then greedy longest-match per word.
void wpm_encode(const vocab& v, std::string_view text, std::vector<token_id>& out);

}  // namespace sluice::engine::detail
