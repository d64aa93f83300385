// Fuzzes tokenization and detokenization. The first input byte picks a tokenizer
// and the flags; the rest is the text. Tokenizers: tiny synthetic SPM and BPE
// vocabularies, plus real ones from $SLUICE_SHARED/vocab when present.
// Invariants: ids are inside the vocabulary; streamed text is valid UTF-8; for
// byte-level BPE without special parsing, over a vocabulary that has a token for every
// byte (Falcon's, for one, lacks some control bytes), the pieces reassemble the
// (sanitised) text.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "../tests/support/tiny_vocabs.hpp"
#include "fuzz_target.hpp"
#include "sluice/engine/incremental_decoder.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/util/log.hpp"
#include "sluice/util/utf8.hpp"

namespace {

using namespace sluice;

struct loaded {
    std::vector<std::byte> bytes;                 // keeps in-memory vocabularies alive
    std::unique_ptr<model::gguf_file> file;
    std::unique_ptr<engine::tokenizer> tok;
    bool all_bytes = true;                        // every byte has a token
};

void finish(loaded& l) {
    for (int b = 0; b < 256; ++b) {
        if (l.tok->get_vocab().byte_token(static_cast<std::uint8_t>(b)) == engine::no_token) l.all_bytes = false;
    }
}

std::vector<loaded>& tokenizers() {
    static std::vector<loaded> all = [] {
        log::set_level(log::level::off);
        std::vector<loaded> v;
        for (auto bytes : {test::tiny_spm_vocab(), test::tiny_bpe_vocab()}) {
            loaded l;
            l.bytes = std::move(bytes);
            l.file = std::make_unique<model::gguf_file>(model::gguf_file::parse(l.bytes));
            l.tok = std::make_unique<engine::tokenizer>(engine::tokenizer::from_gguf(*l.file));
            finish(l);
            v.push_back(std::move(l));
        }
        const char* shared = std::getenv("SLUICE_SHARED");
        const std::filesystem::path dir = std::filesystem::path(shared ? shared : "../shared") / "vocab";
        for (const char* name : {"llama-bpe", "llama-spm", "bert-bge", "qwen2", "deepseek-llm", "falcon"}) {
            const auto p = dir / (std::string("ggml-vocab-") + name + ".gguf");
            if (!std::filesystem::exists(p)) continue;
            loaded l;
            l.file = std::make_unique<model::gguf_file>(model::gguf_file::open(p.string()));
            l.tok = std::make_unique<engine::tokenizer>(engine::tokenizer::from_gguf(*l.file));
            finish(l);
            v.push_back(std::move(l));
        }
        return v;
    }();
    return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    auto& all = tokenizers();
    const std::uint8_t sel = data[0];
    const auto& entry = all[sel % all.size()];
    const auto& tok = *entry.tok;
    const bool add_special = (sel & 0x40) != 0;
    const bool parse_special = (sel & 0x80) != 0;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

    const auto ids = tok.tokenize(text, add_special, parse_special);
    engine::incremental_decoder dec(tok, parse_special);
    std::string streamed, pieces;
    for (const auto id : ids) {
        if (!tok.get_vocab().contains(id)) std::abort();
        streamed += dec.push(id);
        pieces += tok.piece(id);
    }
    streamed += dec.flush();
    if (!utf8::is_valid(streamed)) std::abort();
    (void)tok.detokenize(ids, add_special, parse_special);
    if (tok.get_vocab().kind() == engine::vocab_kind::bpe && entry.all_bytes && !parse_special && !add_special &&
        tok.get_vocab().flags().ignore_merges == false && pieces != utf8::sanitize(text)) {
        // Byte-level BPE is lossless: every byte of the text is in exactly one piece.
        // (Vocabularies with user-defined tokens may legitimately differ; none are loaded here.)
        std::abort();
    }
    return 0;
}
