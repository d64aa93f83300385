#include "pre_tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <utility>

#include "sluice/util/error.hpp"

namespace sluice::engine::detail {
namespace {

// The regexes are the ones the models' tokenizer.json files declare (as adapted by
// llama.cpp where it had to, e.g. `(?i:'s)` spelled `'[sS]`), so ids match both.
const std::string k_gpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
const std::string k_contractions = R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))";
const std::string k_llama3 = k_contractions +
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string k_qwen2 = k_contractions +
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string k_qwen35 = k_contractions +
    R"(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string k_gpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string k_tekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)"
    R"(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string k_cjk = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";
const std::string k_bloom = R"( ?[^(\s|.,!?…。，、।۔،)]+)";
const std::string k_ds3_main =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string k_ds_llm_letters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5"
    "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba"
    "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45"
    "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe"
    "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc"
    "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3"
    "\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06"
    "\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
    "\U0001e900-\U0001e943]+";

struct named {
    std::vector<std::string_view> names;
    pre_tokenizer_config config;
};

std::vector<named> build_table() {
    auto cfg = [](std::vector<std::string> r, bool clean, bool ignore = false, bool bos = false) {
        return pre_tokenizer_config{std::move(r), clean, ignore, bos, true};
    };
    auto spm_shaped = [](bool clean, bool gemma4) {
        pre_tokenizer_config c{{R"([^\n]+|[\n]+)"}, clean, false, false, true};
        c.byte_level = false;
        c.whole_newline_runs = gemma4;
        c.force_add_bos = gemma4;
        return c;
    };
    const std::string digit = R"(\p{N})";
    return {
        {{"default"}, cfg({R"([\p{P}\$\+<=>\^~\|]+)", k_gpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}, true)},
        {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
          "jina-v5-nano"},
         cfg({k_llama3}, true, true, true)},
        {{"dbrx", "smaug-bpe"}, cfg({k_llama3}, true)},
        {{"glm4", "chatglm-bpe"}, cfg({k_llama3}, true)},
        {{"deepseek-llm"},
         cfg({"[\r\n]", k_ds_llm_letters, "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
              R"(\s+$)", k_cjk, R"(\p{N}+)"},
             false)},
        {{"deepseek-coder"}, cfg({"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", k_cjk, digit}, false)},
        {{"deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"},
         cfg({R"(\p{N}{1,3})", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+", k_ds3_main}, false)},
        {{"falcon"}, cfg({R"([\p{P}\$\+<=>\^~\|`]+)", k_gpt2, "[0-9][0-9][0-9]"}, true)},
        {{"gpt-2", "gpt-neox", "mpt", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
          "a.x-4.0", "mellum", "modern-bert", "exaone4", "olmo", "jais", "jina-v1-en", "jina-v2-code",
          "roberta-bpe"},
         cfg({k_gpt2}, true)},
        {{"trillion", "granite-docling"}, cfg({k_gpt2}, false)},
        {{"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"}, cfg({digit, k_gpt2}, true)},
        {{"command-r", "smollm"}, cfg({digit, k_gpt2}, false)},
        {{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2"},
         cfg({k_qwen2}, false)},
        {{"stablelm2", "megrez"}, cfg({k_qwen2}, true)},
        {{"qwen35"}, cfg({k_qwen35}, false)},
        {{"poro-chat"}, cfg({k_bloom}, false)},
        {{"bloom", "gpt3-finnish"}, cfg({k_bloom}, true)},
        {{"viking"}, cfg({k_bloom, digit}, false)},
        {{"tekken"}, cfg({k_tekken}, false, true, true)},
        {{"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"}, cfg({k_gpt4o}, false)},
        {{"tiny_aya", "cohere2moe"}, cfg({R"(\d{1,3}(?=(?:\d{3})*\b))", k_gpt4o}, false)},
        {{"superbpe"}, cfg({R"(\p{N}+)", R"((?=(\d{3})+(?!\d)))"}, false)},
        {{"bailingmoe", "bailingmoe2", "llada-moe"},
         cfg({R"('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)"},
             false)},
        {{"seed-coder"},
         cfg({k_contractions + R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"}, false)},
        {{"ufakzeka"},
         cfg({R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}, false)},
        {{"minicpm5"},
         cfg({R"(\p{N}{1,3})", k_contractions + R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
             true, true)},
        {{"laguna"}, cfg({R"([^\n]+|[\n]+)", k_qwen2}, false)},
        {{"exaone-moe"},
         cfg({k_contractions + R"(|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)"},
             true)},
        // SentencePiece-shaped BPE: no word splitting, only newline runs are kept apart
        // (merges never cross a newline). llama.cpp maps these names to this shape whatever
        // tokenizer.ggml.model says; `gemma4` is also the model name of Gemma 4's vocabulary.
        {{"gemma4", "granite-embed-multi-311m"}, spm_shaped(true, true)},
        {{"sarvam-moe"}, spm_shaped(false, false)},
        {{"jais-2"},
         cfg({k_contractions + R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})"},
             true)},
    };
}

// PCRE2's \s (with UCP) is "Z or \t\n\v\f\r"; tokenizers use Unicode White_Space, which
// adds U+0085. Rewrite \s and \S accordingly, inside and outside character classes.
std::string with_unicode_whitespace(const std::string& re) {
    std::string out;
    bool in_class = false;
    for (std::size_t i = 0; i < re.size(); ++i) {
        const char c = re[i];
        if (c == '\\' && i + 1 < re.size()) {
            const char n = re[i + 1];
            if (n == 's') {
                out += in_class ? R"(\s\x{85})" : R"([\s\x{85}])";
            } else if (n == 'S' && !in_class) {
                out += R"([^\s\x{85}])";
            } else {
                out += c;
                out += n;
            }
            ++i;
            continue;
        }
        if (c == '[' && !in_class) in_class = true;
        else if (c == ']' && in_class) in_class = false;
        out += c;
    }
    return out;
}

}  // namespace

pre_tokenizer_config pre_tokenizer_for(std::string_view pre_name) {
    static const std::vector<named> table = build_table();
    const std::string_view key = pre_name.empty() ? std::string_view("default") : pre_name;
    for (const auto& entry : table) {
        for (auto n : entry.names) {
            if (n == key) return entry.config;
        }
    }
    return pre_tokenizer_config{{k_gpt2}, true, false, false, false};
}

struct pre_tokenizer::compiled {
    pcre2_code* code = nullptr;
    ~compiled() { pcre2_code_free(code); }
};

pre_tokenizer::pre_tokenizer(const std::vector<std::string>& regexes) {
    for (const auto& re : regexes) {
        const std::string pattern = with_unicode_whitespace(re);
        int err = 0;
        PCRE2_SIZE err_off = 0;
        auto c = std::make_unique<compiled>();
        c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_off, nullptr);
        if (c->code == nullptr) {
            std::array<PCRE2_UCHAR, 256> msg{};
            pcre2_get_error_message(err, msg.data(), msg.size());
            throw error(errc::invalid_format, "pre-tokenizer regex error at " + std::to_string(err_off) + ": " +
                                                  reinterpret_cast<const char*>(msg.data()));
        }
        pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if unavailable
        compiled_.push_back(std::move(c));
    }
}

pre_tokenizer::~pre_tokenizer() = default;

std::vector<std::string_view> pre_tokenizer::split(std::string_view text) const {
    std::vector<std::string_view> pieces;
    if (text.empty()) return pieces;
    pieces.push_back(text);
    std::vector<std::string_view> next;
    for (const auto& c : compiled_) {
        pcre2_match_data* md = pcre2_match_data_create_from_pattern(c->code, nullptr);
        next.clear();
        for (auto piece : pieces) {
            const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
            std::size_t start = 0, emitted = 0;
            while (start <= piece.size()) {
                const int rc = pcre2_match(c->code, subject, piece.size(), start, PCRE2_NO_UTF_CHECK, md, nullptr);
                if (rc < 0) break;  // no match (or a resource limit): the rest stays one piece
                const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
                const std::size_t m0 = ov[0], m1 = ov[1];
                if (m1 == m0) {  // empty match: step over one character
                    if (m0 >= piece.size()) break;
                    std::size_t step = 1;
                    while (m0 + step < piece.size() && (static_cast<unsigned char>(piece[m0 + step]) & 0xC0) == 0x80) ++step;
                    start = m0 + step;
                    continue;
                }
                if (m0 > emitted) next.push_back(piece.substr(emitted, m0 - emitted));
                next.push_back(piece.substr(m0, m1 - m0));
                emitted = start = m1;
            }
            if (emitted < piece.size()) next.push_back(piece.substr(emitted));
        }
        pcre2_match_data_free(md);
        pieces.swap(next);
    }
    return pieces;
}

}  // namespace sluice::engine::detail
