#include "sluice/model/hparams.hpp"

#include <algorithm>
#include <limits>

#include "sluice/util/error.hpp"

namespace sluice::model {

std::string arch_key(std::string_view arch, std::string_view suffix) {
    std::string k(arch);
    k += '.';
    k += suffix;
    return k;
}

std::uint32_t get_u32(const gguf_file& f, std::string_view key) {
    const auto v = f.get(key).as_uint(key);
    if (v > std::numeric_limits<std::uint32_t>::max()) {
        throw error(errc::out_of_range, std::string(key) + ": value " + std::to_string(v) + " does not fit 32 bits");
    }
    return static_cast<std::uint32_t>(v);
}

float get_f32(const gguf_file& f, std::string_view key) {
    return static_cast<float>(f.get(key).as_double(key));
}

std::string_view get_string(const gguf_file& f, std::string_view key) { return f.get(key).as_string(key); }

bool get_bool(const gguf_file& f, std::string_view key) { return f.get(key).as_bool(key); }

std::optional<std::uint32_t> find_u32(const gguf_file& f, std::string_view key) {
    if (!f.find(key)) return std::nullopt;
    return get_u32(f, key);
}

std::optional<float> find_f32(const gguf_file& f, std::string_view key) {
    if (!f.find(key)) return std::nullopt;
    return get_f32(f, key);
}

std::optional<std::string_view> find_string(const gguf_file& f, std::string_view key) {
    if (!f.find(key)) return std::nullopt;
    return get_string(f, key);
}

std::optional<bool> find_bool(const gguf_file& f, std::string_view key) {
    if (!f.find(key)) return std::nullopt;
    return get_bool(f, key);
}

std::vector<std::uint32_t> get_u32_per_layer(const gguf_file& f, std::string_view key, std::uint32_t n, std::uint32_t fallback) {
    const auto* v = f.find(key);
    if (v == nullptr) return std::vector<std::uint32_t>(n, fallback);
    if (v->type() != gguf_type::array) return std::vector<std::uint32_t>(n, get_u32(f, key));
    const auto values = v->int_array(key);
    if (values.size() != n) {
        throw error(errc::invalid_format, std::string(key) + ": " + std::to_string(values.size()) + " values for " + std::to_string(n) +
                                              " layers");
    }
    std::vector<std::uint32_t> out;
    for (const auto x : values) {
        if (x < 0 || x > std::numeric_limits<std::uint32_t>::max()) {
            throw error(errc::out_of_range, std::string(key) + ": value " + std::to_string(x) + " does not fit 32 bits");
        }
        out.push_back(static_cast<std::uint32_t>(x));
    }
    return out;
}

hyper_params read_hyper_params(const gguf_file& f) {
    hyper_params hp;
    hp.architecture = std::string(get_string(f, "general.architecture"));
    const auto& a = hp.architecture;
    hp.n_ctx_train = get_u32(f, arch_key(a, "context_length"));
    hp.n_embd = get_u32(f, arch_key(a, "embedding_length"));
    hp.n_layer = get_u32(f, arch_key(a, "block_count"));
    if (hp.n_embd == 0 || hp.n_layer == 0) {
        throw error(errc::out_of_range, a + ": embedding_length and block_count must be positive");
    }
    constexpr std::uint32_t k_max_layers = 4096;  // bounds the per-layer tables below (llama.cpp allows 512)
    if (hp.n_layer > k_max_layers) {
        throw error(errc::out_of_range, arch_key(a, "block_count") + ": " + std::to_string(hp.n_layer) + " layers (at most " +
                                            std::to_string(k_max_layers) + ")");
    }
    (void)f.get(arch_key(a, "feed_forward_length"));  // required (missing_key names it)
    hp.n_ff_layer = get_u32_per_layer(f, arch_key(a, "feed_forward_length"), hp.n_layer, 0);
    hp.n_head = get_u32(f, arch_key(a, "attention.head_count"));
    hp.n_head_kv_layer = get_u32_per_layer(f, arch_key(a, "attention.head_count_kv"), hp.n_layer, hp.n_head);
    for (const auto n_ff : hp.n_ff_layer) hp.n_ff = std::max(hp.n_ff, n_ff);
    for (const auto n_kv : hp.n_head_kv_layer) {
        if (hp.n_head == 0 || n_kv == 0 || hp.n_head % n_kv != 0) {
            throw error(errc::out_of_range, arch_key(a, "attention.head_count") + ": " + std::to_string(hp.n_head) +
                                                " heads cannot be grouped over " + std::to_string(n_kv) + " KV heads");
        }
        hp.n_head_kv = std::max(hp.n_head_kv, n_kv);
    }
    const std::uint32_t default_head = hp.n_embd / hp.n_head;
    hp.head_dim_k = find_u32(f, arch_key(a, "attention.key_length")).value_or(default_head);
    hp.head_dim_v = find_u32(f, arch_key(a, "attention.value_length")).value_or(default_head);
    hp.n_rot = find_u32(f, arch_key(a, "rope.dimension_count")).value_or(hp.head_dim_k);
    hp.rms_eps = find_f32(f, arch_key(a, "attention.layer_norm_rms_epsilon")).value_or(1e-5f);
    hp.rope_freq_base = find_f32(f, arch_key(a, "rope.freq_base")).value_or(10000.0f);
    hp.rope_scaling_type = std::string(find_string(f, arch_key(a, "rope.scaling.type")).value_or(""));
    hp.rope_scaling_factor = find_f32(f, arch_key(a, "rope.scaling.factor")).value_or(1.0f);
    if (auto nv = find_u32(f, arch_key(a, "vocab_size"))) {
        hp.n_vocab = *nv;
    } else if (const auto* toks = f.find("tokenizer.ggml.tokens")) {
        hp.n_vocab = static_cast<std::uint32_t>(toks->as_array("tokenizer.ggml.tokens").count);
    }
    return hp;
}

}  // namespace sluice::model
