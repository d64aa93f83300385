#include "sluice/engine/vocab.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "pre_tokenizer.hpp"
#include "sluice/model/hparams.hpp"
#include "sluice/util/error.hpp"
#include "sluice/util/log.hpp"
#include "unicode_props.hpp"

namespace sluice::engine {
namespace {

// tokenizer.ggml.token_type values.
enum : std::int64_t { type_normal = 1, type_unknown = 2, type_control = 3, type_user_defined = 4, type_unused = 5, type_byte = 6 };

std::uint32_t attr_from_type(std::int64_t t) {
    switch (t) {
        case type_unknown: return attr_unknown;
        case type_unused: return attr_unused;
        case type_normal: return attr_normal;
        case type_control: return attr_control;
        case type_user_defined: return attr_user_defined;
        case type_byte: return attr_byte;
        default: return attr_undefined;
    }
}

// "<0xNN>": the text of a SentencePiece byte token.
std::string hex_byte_text(std::uint8_t byte) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", byte);
    return hex;
}

}  // namespace

std::string_view name_of(vocab_kind kind) noexcept {
    switch (kind) {
        case vocab_kind::spm: return "SPM";
        case vocab_kind::bpe: return "BPE";
        case vocab_kind::wpm: return "WPM";
    }
    return "?";
}

token_id vocab::find(std::string_view text) const noexcept {
    const auto it = index_.find(text);
    return it == index_.end() ? no_token : it->second;
}

const vocab::merge* vocab::find_merge(token_id left, token_id right) const noexcept {
    const auto key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
    const auto it = merges_.find(key);
    return it == merges_.end() ? nullptr : &it->second;
}

vocab vocab::from_gguf(const model::gguf_file& f) {
    vocab v;
    v.model_ = std::string(model::get_string(f, "tokenizer.ggml.model"));
    v.pre_ = std::string(model::find_string(f, "tokenizer.ggml.pre").value_or(""));
    v.general_name_ = std::string(model::find_string(f, "general.name").value_or(""));
    auto& s = v.special_;
    auto& fl = v.flags_;
    if (v.model_ == "llama") {
        v.kind_ = vocab_kind::spm;
        s.bos = 1, s.eos = 2, s.unk = 0;
        fl.add_space_prefix = true, fl.add_bos = true;
    } else if (v.model_ == "bert") {
        v.kind_ = vocab_kind::wpm;
        s.bos = 101, s.unk = 100, s.sep = 102, s.pad = 0, s.mask = 103;
        fl.add_bos = true, fl.add_sep = true, fl.clean_spaces = true;
    } else if (v.model_ == "gpt2") {
        v.kind_ = vocab_kind::bpe;
        s.bos = 11, s.eos = 11;
        v.configure_bpe();
    } else if (v.model_ == "gemma4") {
        // BPE with SentencePiece-shaped tokens; no default special ids (metadata names them).
        // llama.cpp ignores tokenizer.ggml.pre here and always uses its `gemma4` rules.
        v.kind_ = vocab_kind::bpe;
        v.pre_ = "gemma4";
        v.configure_bpe();
    } else {
        throw error(errc::unsupported, f.source() + ": tokenizer.ggml.model '" + v.model_ +
                                           "' is not supported (supported: llama, gpt2, gemma4, bert)");
    }
    if (auto p = model::find_bool(f, "tokenizer.ggml.add_space_prefix")) fl.add_space_prefix = *p;

    v.load_tokens(f);
    if (v.kind_ == vocab_kind::bpe) v.load_merges(f);
    v.load_special_ids(f);
    v.detect_special_by_text();
    v.finish();
    return v;
}

void vocab::configure_bpe() {
    const auto pre = detail::pre_tokenizer_for(pre_);
    if (!pre.known) {
        log::warn("unknown pre-tokenizer '" + pre_ + "'; using the GPT-2 rules (token ids may differ)");
    }
    auto& fl = flags_;
    fl.clean_spaces = pre.clean_spaces;
    fl.ignore_merges = pre.ignore_merges;
    fl.add_bos = pre.add_bos;
    fl.byte_level = pre.byte_level;
    fl.whole_newline_runs = pre.whole_newline_runs;
    force_add_bos_ = pre.force_add_bos;
    if (pre_ == "glm4" || pre_ == "chatglm-bpe") special_.bos = no_token;
    if (pre_ == "jina-v1-en" || pre_ == "jina-v2-code" || pre_ == "roberta-bpe") fl.add_sep = true;
}

void vocab::load_tokens(const model::gguf_file& f) {
    const auto texts = f.get("tokenizer.ggml.tokens").string_array("tokenizer.ggml.tokens");
    if (texts.empty()) throw error(errc::invalid_format, f.source() + ": tokenizer.ggml.tokens is empty");
    if (texts.size() > (1u << 31) - 1) throw error(errc::out_of_range, "tokenizer.ggml.tokens: too many tokens");
    std::vector<double> scores;
    if (const auto* sv = f.find("tokenizer.ggml.scores")) scores = sv->double_array("tokenizer.ggml.scores");
    std::vector<std::int64_t> types;
    if (const auto* tv = f.find("tokenizer.ggml.token_type")) types = tv->int_array("tokenizer.ggml.token_type");
    if (!scores.empty() && scores.size() < texts.size()) {
        throw error(errc::invalid_format, "tokenizer.ggml.scores has fewer entries than tokenizer.ggml.tokens");
    }
    if (!types.empty() && types.size() < texts.size()) {
        throw error(errc::invalid_format, "tokenizer.ggml.token_type has fewer entries than tokenizer.ggml.tokens");
    }
    tokens_.resize(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        auto& t = tokens_[i];
        t.text = texts[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : std::string(texts[i]);
        t.score = scores.empty() ? 0.0f : static_cast<float>(scores[i]);
        t.attr = types.empty() ? attr_normal : attr_from_type(types[i]);
        max_token_len_ = std::max(max_token_len_, t.text.size());
    }
    index_.reserve(tokens_.size());
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
        if (!index_.emplace(tokens_[i].text, static_cast<token_id>(i)).second) {
            throw error(errc::invalid_format, f.source() + ": duplicate token '" + tokens_[i].text + "' (ids " +
                                                  std::to_string(index_[tokens_[i].text]) + " and " + std::to_string(i) + ")");
        }
    }
}

void vocab::load_merges(const model::gguf_file& f) {
    const auto list = f.get("tokenizer.ggml.merges").string_array("tokenizer.ggml.merges");
    merges_.reserve(list.size());
    std::size_t unusable = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto word = list[i];
        const auto sp = word.find(' ', 1);
        if (sp == std::string_view::npos) {
            ++unusable;
            continue;
        }
        const auto left = word.substr(0, sp), right = word.substr(sp + 1);
        const token_id l = find(left), r = find(right);
        if (l == no_token || r == no_token) {
            ++unusable;
            continue;
        }
        std::string joined(left);
        joined += right;
        const auto key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(l)) << 32) | static_cast<std::uint32_t>(r);
        merges_.emplace(key, merge{static_cast<std::int32_t>(i), find(joined)});
    }
    if (unusable > 0) log::debug(std::to_string(unusable) + " BPE merges name pieces that are not tokens");
}

void vocab::load_special_ids(const model::gguf_file& f) {
    auto& s = special_;
    const std::pair<const char*, token_id*> keys[] = {
        {"tokenizer.ggml.bos_token_id", &s.bos},       {"tokenizer.ggml.eos_token_id", &s.eos},
        {"tokenizer.ggml.eot_token_id", &s.eot},       {"tokenizer.ggml.eom_token_id", &s.eom},
        {"tokenizer.ggml.unknown_token_id", &s.unk},   {"tokenizer.ggml.seperator_token_id", &s.sep},
        {"tokenizer.ggml.padding_token_id", &s.pad},   {"tokenizer.ggml.mask_token_id", &s.mask},
        {"tokenizer.ggml.fim_pre_token_id", &s.fim_pre}, {"tokenizer.ggml.fim_suf_token_id", &s.fim_suf},
        {"tokenizer.ggml.fim_mid_token_id", &s.fim_mid}, {"tokenizer.ggml.fim_pad_token_id", &s.fim_pad},
        {"tokenizer.ggml.fim_rep_token_id", &s.fim_rep}, {"tokenizer.ggml.fim_sep_token_id", &s.fim_sep},
        {"tokenizer.ggml.prefix_token_id", &s.fim_pre},  {"tokenizer.ggml.suffix_token_id", &s.fim_suf},
        {"tokenizer.ggml.middle_token_id", &s.fim_mid},
    };
    for (auto [key, id] : keys) {
        if (*id != no_token && !contains(*id)) *id = no_token;  // default outside this vocabulary
        const auto* value = f.find(key);
        if (value == nullptr) continue;
        const auto raw = value->as_uint(key);
        if (raw < tokens_.size()) {
            *id = static_cast<token_id>(raw);
        } else if (raw != 0xFFFFFFFFu) {  // UINT32_MAX is the conventional 'none'
            log::warn(std::string(key) + " = " + std::to_string(raw) + " is outside the vocabulary; ignored");
        }
    }
    if (auto b = model::find_bool(f, "tokenizer.ggml.add_bos_token")) flags_.add_bos = *b;
    if (auto e = model::find_bool(f, "tokenizer.ggml.add_eos_token")) flags_.add_eos = *e;
    if (auto p = model::find_bool(f, "tokenizer.ggml.add_sep_token")) flags_.add_sep = *p;
    if (force_add_bos_) flags_.add_bos = true;
    if (flags_.add_bos && s.bos == no_token) throw error(errc::invalid_format, "add_bos_token is set but there is no BOS token");
    if (flags_.add_eos && s.eos == no_token) throw error(errc::invalid_format, "add_eos_token is set but there is no EOS token");
    if (auto lc = model::find_bool(f, "tokenizer.ggml.normalizer.lowercase")) flags_.lowercase = *lc;
    flags_.strip_accents = flags_.lowercase;
    if (auto sa = model::find_bool(f, "tokenizer.ggml.normalizer.strip_accents")) flags_.strip_accents = *sa;

    if (kind_ == vocab_kind::spm) {
        s.nl = byte_token_for_spm('\n');
    }
}

void vocab::detect_special_by_text() {
    auto& s = special_;
    auto mark_control = [&](token_id id) { tokens_[static_cast<std::size_t>(id)].attr |= attr_control; };
    auto detect = [&](token_id& slot, std::initializer_list<std::string_view> texts) {
        if (slot != no_token) return;
        for (auto t : texts) {
            const token_id id = find(t);
            if (id != no_token) {
                slot = id;
                mark_control(id);
                return;
            }
        }
    };
    detect(s.eot, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                   "<EOT>", "_<EOT>", "[EOT]", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
                   "<end_of_utterance>"});
    detect(s.eom, {"<|eom_id|>"});
    const std::string_view fim_begin = "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>";  // <｜fim▁begin｜>
    const std::string_view fim_hole = "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>";
    const std::string_view fim_end = "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>";
    detect(s.fim_pre, {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", fim_begin, "<PRE>", "\xe2\x96\x81<PRE>",
                       "<|code_prefix|>", "<|prefix|>"});
    detect(s.fim_suf, {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", fim_hole, "<SUF>", "\xe2\x96\x81<SUF>",
                       "<|code_suffix|>", "<|suffix|>"});
    detect(s.fim_mid, {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", fim_end, "<MID>", "\xe2\x96\x81<MID>",
                       "<|code_middle|>", "<|middle|>"});
    detect(s.fim_pad, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"});
    detect(s.fim_rep, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"});
    detect(s.fim_sep, {"<|file_sep|>"});

    // Control tokens whose text says "unused" are unused.
    for (auto& t : tokens_) {
        if ((t.attr & attr_control) && t.text.find("unused") != std::string::npos) t.attr |= attr_unused;
    }

    // End-of-generation tokens: the FIM pad/repo/sep tokens, known end-of-turn texts (made
    // control tokens), EOS/EOT/EOM. The list is llama.cpp's (de3ff81), so that attributes,
    // and with them special-token matching, agree.
    for (token_id id : {s.fim_pad, s.fim_rep, s.fim_sep}) {
        if (id != no_token) eog_.insert(id);
    }
    for (std::string_view t : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                               "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                               "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                               "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "[e~["}) {
        const token_id id = find(t);
        if (id != no_token) {
            eog_.insert(id);
            mark_control(id);
        }
    }
    for (token_id id : {s.eos, s.eot, s.eom}) {
        if (id != no_token) eog_.insert(id);
    }
    auto eog_text = [&](std::string_view t) {
        const token_id id = find(t);
        return id != no_token && eog_.count(id) != 0 ? id : no_token;
    };
    // gpt-oss (<|return|>, <|call|>) and Solar Open (<|calls|>, <|flush|>) end turns with those,
    // so their <|end|> is an ordinary user-defined token.
    const token_id end = eog_text("<|end|>");
    const bool call = eog_text("<|call|>") != no_token || eog_text("<|calls|>") != no_token;
    if (end != no_token && call && (eog_text("<|return|>") != no_token || eog_text("<|flush|>") != no_token)) {
        eog_.erase(end);
        tokens_[static_cast<std::size_t>(end)].attr = attr_user_defined;
    }
    // Gemma 4 (which ends tool calls with <|tool_response>) has an ordinary "</s>".
    const token_id eos_s = eog_text("</s>");
    if (eos_s != no_token && eog_text("<|tool_response>") != no_token) {
        eog_.erase(eos_s);
        tokens_[static_cast<std::size_t>(eos_s)].attr = attr_normal;
    }
}

void vocab::finish() {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
        if (tokens_[i].attr & (attr_control | attr_user_defined | attr_unknown)) {
            special_tokens_.push_back(static_cast<token_id>(i));
        }
    }
    std::stable_sort(special_tokens_.begin(), special_tokens_.end(), [&](token_id a, token_id b) {
        return token(a).text.size() > token(b).text.size();
    });

    // Phi-3 vocabularies strip whitespace to the right of their special tokens.
    std::string name = general_name_;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
        for (token_id id : special_tokens_) tokens_[static_cast<std::size_t>(id)].attr |= attr_rstrip;
        for (std::string_view t : {"</s>"}) {
            if (auto id = find(t); id != no_token) tokens_[static_cast<std::size_t>(id)].attr |= attr_rstrip;
        }
        for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) {
            if (auto id = find(t); id != no_token) tokens_[static_cast<std::size_t>(id)].attr &= ~attr_rstrip;
        }
    }

    for (int b = 0; b < 256; ++b) {
        const auto byte = static_cast<std::uint8_t>(b);
        if (kind_ == vocab_kind::spm) {
            byte_tokens_[b] = byte_token_for_spm(byte);
        } else if (flags_.byte_level) {
            byte_tokens_[b] = find(detail::byte_to_unicode(byte));
        } else {
            byte_tokens_[b] = find(hex_byte_text(byte));  // no raw-byte fallback: llama.cpp has none
        }
    }
    if (kind_ == vocab_kind::wpm) {
        special_.nl = special_.pad;
    } else if (kind_ == vocab_kind::bpe) {
        special_.nl = find(flags_.byte_level ? detail::byte_to_unicode('\n') : std::string("\n"));
    }
}

token_id vocab::byte_token_for_spm(std::uint8_t byte) const noexcept {
    const token_id id = find(hex_byte_text(byte));
    if (id != no_token) return id;
    return find(std::string_view(reinterpret_cast<const char*>(&byte), 1));
}

}  // namespace sluice::engine
