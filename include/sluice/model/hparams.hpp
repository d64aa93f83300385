// Typed access to model hyper-parameters stored as `<arch>.<name>` metadata.
// Every error names the key that was missing or malformed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/model/gguf_file.hpp"

namespace sluice::model {

// Typed getters: throw errc::missing_key / wrong_type / out_of_range naming `key`.
std::uint32_t get_u32(const gguf_file& f, std::string_view key);
float get_f32(const gguf_file& f, std::string_view key);
std::string_view get_string(const gguf_file& f, std::string_view key);
bool get_bool(const gguf_file& f, std::string_view key);
std::optional<std::uint32_t> find_u32(const gguf_file& f, std::string_view key);
std::optional<float> find_f32(const gguf_file& f, std::string_view key);
std::optional<std::string_view> find_string(const gguf_file& f, std::string_view key);
std::optional<bool> find_bool(const gguf_file& f, std::string_view key);
// A per-layer value [n]: `key` holds one unsigned integer for every layer or an array of n
// of them; `fallback` for every layer when the key is absent. Throws naming the key when an
// array has another length or a negative element.
std::vector<std::uint32_t> get_u32_per_layer(const gguf_file& f, std::string_view key, std::uint32_t n, std::uint32_t fallback);

struct hyper_params {
    std::string architecture;       // general.architecture
    std::uint32_t n_ctx_train = 0;  // <arch>.context_length
    std::uint32_t n_embd = 0;       // <arch>.embedding_length
    std::uint32_t n_layer = 0;      // <arch>.block_count
    std::uint32_t n_ff = 0;         // <arch>.feed_forward_length (the largest, when per layer)
    std::uint32_t n_head = 0;       // <arch>.attention.head_count
    std::uint32_t n_head_kv = 0;    // <arch>.attention.head_count_kv (default n_head; the largest, when per layer)
    // The same two per layer [n_layer]: a key may hold one value for every layer or an array
    // of one per layer (gemma4: double-wide FFNs on its last layers, fewer KV heads on its
    // full-attention layers).
    std::vector<std::uint32_t> n_ff_layer, n_head_kv_layer;
    std::uint32_t head_dim_k = 0;   // <arch>.attention.key_length (default n_embd / n_head)
    std::uint32_t head_dim_v = 0;   // <arch>.attention.value_length (default n_embd / n_head)
    std::uint32_t n_rot = 0;        // <arch>.rope.dimension_count (default head_dim_k)
    float rms_eps = 1e-5f;          // <arch>.attention.layer_norm_rms_epsilon
    float rope_freq_base = 10000;   // <arch>.rope.freq_base
    std::string rope_scaling_type;  // <arch>.rope.scaling.type ("" = none)
    float rope_scaling_factor = 1;  // <arch>.rope.scaling.factor
    std::uint32_t n_vocab = 0;      // <arch>.vocab_size or tokenizer.ggml.tokens length
};

// Reads and validates the hyper-parameters every decoder-only transformer needs.
hyper_params read_hyper_params(const gguf_file& f);

// "<arch>.<suffix>"
std::string arch_key(std::string_view arch, std::string_view suffix);

}  // namespace sluice::model
