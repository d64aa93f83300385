// Tiny synthetic tokenizer vocabularies as GGUF bytes, so tokenizer behaviour is
// tested (and fuzzed) without ../shared. Shapes follow real files: SentencePiece
// with byte fallback and U+2581 pieces; byte-level BPE with stand-in characters.
#pragma once

#include <string>
#include <vector>

#include "sluice/model/gguf_writer.hpp"

namespace sluice::test {

inline std::vector<std::byte> tiny_spm_vocab() {
    std::vector<std::string> toks{"<unk>", "<s>", "</s>"};
    std::vector<float> scores{0, 0, 0};
    std::vector<std::int32_t> types{2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        toks.push_back(hex);
        scores.push_back(0);
        types.push_back(6);
    }
    const std::vector<std::pair<std::string, float>> normal{
        {"\xE2\x96\x81", -1}, {"a", -2}, {"b", -2}, {"c", -2}, {"\xE2\x96\x81" "a", -1.5f},
        {"ab", -1.2f}, {"\xE2\x96\x81" "ab", -0.5f}, {"bc", -0.7f}, {",", -3}};
    for (const auto& [t, s] : normal) {
        toks.push_back(t);
        scores.push_back(s);
        types.push_back(1);
    }
    toks.push_back("<|user|>");  // user-defined: always matched in text
    scores.push_back(0);
    types.push_back(4);
    toks.push_back("<ctl>");  // control: matched only when parsing special text
    scores.push_back(0);
    types.push_back(3);
    model::gguf_writer w;
    w.add_string("general.architecture", "llama");
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_strings("tokenizer.ggml.tokens", toks);
    w.add_f32s("tokenizer.ggml.scores", scores);
    w.add_i32s("tokenizer.ggml.token_type", types);
    w.add_u32("tokenizer.ggml.bos_token_id", 1);
    w.add_u32("tokenizer.ggml.eos_token_id", 2);
    return w.bytes();
}

// Byte-level stand-in for a printable ASCII byte is the byte itself; space is U+0120.
inline std::vector<std::byte> tiny_bpe_vocab(const std::string& pre = "qwen2") {
    std::vector<std::string> toks;
    std::vector<std::int32_t> types;
    // The 256 byte stand-ins, in the GPT-2 order.
    int next = 256;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        const int cp = printable ? b : next++;
        std::string s;
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        }
        toks.push_back(s);
        types.push_back(1);
    }
    for (std::string t : {"ab", "\xC4\xA0" "a", "\xC4\xA0" "ab", "\xC4\xA0\xC4\xA0"}) {
        toks.push_back(t);
        types.push_back(1);
    }
    toks.push_back("<|im_start|>");
    types.push_back(3);
    toks.push_back("<|endoftext|>");
    types.push_back(3);
    model::gguf_writer w;
    w.add_string("general.architecture", "qwen2");
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", pre);
    w.add_strings("tokenizer.ggml.tokens", toks);
    w.add_i32s("tokenizer.ggml.token_type", types);
    w.add_strings("tokenizer.ggml.merges", {"\xC4\xA0 a", "\xC4\xA0" "a b", "a b", "\xC4\xA0 \xC4\xA0"});
    w.add_u32("tokenizer.ggml.eos_token_id", static_cast<std::uint32_t>(toks.size() - 1));
    return w.bytes();
}

// SentencePiece-shaped BPE (Gemma 4's shape): raw UTF-8 tokens with U+2581 for spaces,
// `<0xNN>` byte tokens, newline-run tokens that no merge forms. `model` is
// tokenizer.ggml.model ("gemma4", or "gpt2" with `pre` naming the shape); add_bos_token false.
inline std::vector<std::byte> tiny_spm_shaped_bpe_vocab(const std::string& model = "gemma4",
                                                        const std::string& pre = "llama-bpe") {
    std::vector<std::string> toks{"<pad>", "<eos>", "<bos>", "<unk>"};
    std::vector<std::int32_t> types{3, 3, 3, 3};
    for (int b = 0; b < 256; ++b) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        toks.push_back(hex);
        types.push_back(6);
    }
    for (std::string t : {"a", "b", ",", "\xE2\x96\x81", "\xE2\x96\x81" "a", "ab", "\n", "\n\n\n", "\xC3\xA9"}) {
        toks.push_back(t);
        types.push_back(1);
    }
    toks.push_back("<|tool_response>");  // user-defined, and an end-of-generation text
    types.push_back(4);
    model::gguf_writer w;
    w.add_string("general.architecture", "gemma4");
    w.add_string("tokenizer.ggml.model", model);
    w.add_string("tokenizer.ggml.pre", pre);
    w.add_strings("tokenizer.ggml.tokens", toks);
    w.add_i32s("tokenizer.ggml.token_type", types);
    w.add_strings("tokenizer.ggml.merges", {"\xE2\x96\x81 a", "a b"});
    w.add_u32("tokenizer.ggml.bos_token_id", 2);
    w.add_u32("tokenizer.ggml.eos_token_id", 1);
    w.add_bool("tokenizer.ggml.add_bos_token", false);
    return w.bytes();
}

}  // namespace sluice::test
