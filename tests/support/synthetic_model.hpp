// Builds GGUF bytes of a llama-architecture model with random weights of a given
// shape, quantised with sluice's own quantisers. For benchmarks: the numbers depend
// on shapes and types, not on what the weights say.
#pragma once

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/model/gguf_writer.hpp"

namespace sluice::test {

struct model_shape {
    std::uint32_t n_embd = 576, n_layer = 30, n_head = 9, n_head_kv = 3, n_ff = 1536, n_vocab = 49152;
    std::uint32_t n_ctx_train = 2048;  // the trained context written to the metadata
};

inline std::vector<std::byte> random_matrix(kernels::ggml_type type, std::size_t cols, std::size_t rows, std::mt19937& rng,
                                            float sigma = 0.02f) {
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> row(cols);
    const auto t = kernels::traits_of(type);
    const std::size_t row_bytes = cols / t.block_size * t.type_size;
    std::vector<std::byte> out(rows * row_bytes);
    for (std::size_t r = 0; r < rows; ++r) {
        for (auto& x : row) x = d(rng);
        if (type == kernels::ggml_type::q8_0) {
            kernels::quantize_row_q8_0(row.data(), out.data() + r * row_bytes, cols);
        } else if (type == kernels::ggml_type::q4_0) {
            kernels::quantize_row_q4_0(row.data(), out.data() + r * row_bytes, cols);
        } else if (type == kernels::ggml_type::f16) {
            for (std::size_t c = 0; c < cols; ++c) {
                const std::uint16_t h = kernels::fp32_to_fp16(row[c]);
                std::memcpy(out.data() + r * row_bytes + 2 * c, &h, 2);
            }
        } else {
            std::memcpy(out.data() + r * row_bytes, row.data(), cols * 4);
        }
    }
    return out;
}

// The hyper-parameter metadata of a synthetic `arch` model of shape `s` (s.n_ctx_train
// context, rope base 1e5, RMS epsilon 1e-5).
inline void write_shape_metadata(model::gguf_writer& w, const model_shape& s, const std::string& arch) {
    w.add_string("general.architecture", arch);
    w.add_string("general.name", "synthetic");
    w.add_u32(arch + ".context_length", s.n_ctx_train);
    w.add_u32(arch + ".embedding_length", s.n_embd);
    w.add_u32(arch + ".block_count", s.n_layer);
    w.add_u32(arch + ".feed_forward_length", s.n_ff);
    w.add_u32(arch + ".attention.head_count", s.n_head);
    w.add_u32(arch + ".attention.head_count_kv", s.n_head_kv);
    w.add_f32(arch + ".rope.freq_base", 100000.0f);
    w.add_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
}

// Tied embeddings (like SmolLM2), F32 norms, every matrix of `type` (F32, Q8_0 or Q4_0).
// `arch` "llama" or "qwen2" (adds q/k/v biases). `extra` may add metadata (a tokenizer).
inline std::vector<std::byte> synthetic_llama(const model_shape& s, kernels::ggml_type type, unsigned seed = 42,
                                              const std::string& arch = "llama",
                                              const std::function<void(model::gguf_writer&)>& extra = {}) {
    using kernels::ggml_type;
    std::mt19937 rng(seed);
    model::gguf_writer w;
    write_shape_metadata(w, s, arch);
    if (extra) extra(w);
    const std::uint32_t hd = s.n_embd / s.n_head;
    std::vector<float> ones(s.n_embd, 1.0f);
    auto norm = [&] {
        std::vector<std::byte> b(s.n_embd * 4);
        std::memcpy(b.data(), ones.data(), b.size());
        return b;
    };
    w.add_tensor("token_embd.weight", type, {s.n_embd, s.n_vocab}, random_matrix(type, s.n_embd, s.n_vocab, rng));
    w.add_tensor("output_norm.weight", ggml_type::f32, {s.n_embd}, norm());
    for (std::uint32_t l = 0; l < s.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        w.add_tensor(p + "attn_norm.weight", ggml_type::f32, {s.n_embd}, norm());
        w.add_tensor(p + "ffn_norm.weight", ggml_type::f32, {s.n_embd}, norm());
        w.add_tensor(p + "attn_q.weight", type, {s.n_embd, s.n_head * hd}, random_matrix(type, s.n_embd, s.n_head * hd, rng));
        w.add_tensor(p + "attn_k.weight", type, {s.n_embd, s.n_head_kv * hd}, random_matrix(type, s.n_embd, s.n_head_kv * hd, rng));
        w.add_tensor(p + "attn_v.weight", type, {s.n_embd, s.n_head_kv * hd}, random_matrix(type, s.n_embd, s.n_head_kv * hd, rng));
        w.add_tensor(p + "attn_output.weight", type, {s.n_head * hd, s.n_embd}, random_matrix(type, s.n_head * hd, s.n_embd, rng));
        w.add_tensor(p + "ffn_gate.weight", type, {s.n_embd, s.n_ff}, random_matrix(type, s.n_embd, s.n_ff, rng));
        w.add_tensor(p + "ffn_up.weight", type, {s.n_embd, s.n_ff}, random_matrix(type, s.n_embd, s.n_ff, rng));
        w.add_tensor(p + "ffn_down.weight", type, {s.n_ff, s.n_embd}, random_matrix(type, s.n_ff, s.n_embd, rng));
        if (arch == "qwen2") {
            w.add_tensor(p + "attn_q.bias", ggml_type::f32, {s.n_head * hd}, random_matrix(ggml_type::f32, s.n_head * hd, 1, rng));
            w.add_tensor(p + "attn_k.bias", ggml_type::f32, {s.n_head_kv * hd}, random_matrix(ggml_type::f32, s.n_head_kv * hd, 1, rng));
            w.add_tensor(p + "attn_v.bias", ggml_type::f32, {s.n_head_kv * hd}, random_matrix(ggml_type::f32, s.n_head_kv * hd, 1, rng));
        }
    }
    return w.bytes();
}

// A qwen3moe model (per-head q/k norms, untied output, a mixture of n_expert SwiGLU experts
// of n_ff_exp rows with n_used per token, F32 router), every matrix of `type` (Q8_0 or Q4_0).
struct moe_shape {
    model_shape base;  // base.n_ff is ignored
    std::uint32_t head_dim = 32, n_expert = 8, n_used = 2, n_ff_exp = 64;
};

inline std::vector<std::byte> synthetic_qwen3moe(const moe_shape& ms, kernels::ggml_type type, unsigned seed = 42) {
    using kernels::ggml_type;
    const auto& s = ms.base;
    std::mt19937 rng(seed);
    model::gguf_writer w;
    write_shape_metadata(w, s, "qwen3moe");
    w.add_u32("qwen3moe.attention.key_length", ms.head_dim);
    w.add_u32("qwen3moe.attention.value_length", ms.head_dim);
    w.add_u32("qwen3moe.expert_count", ms.n_expert);
    w.add_u32("qwen3moe.expert_used_count", ms.n_used);
    w.add_u32("qwen3moe.expert_feed_forward_length", ms.n_ff_exp);
    auto ones = [](std::uint32_t n) {
        std::vector<std::byte> b(n * 4);
        const float one = 1.0f;
        for (std::uint32_t i = 0; i < n; ++i) std::memcpy(b.data() + 4 * i, &one, 4);
        return b;
    };
    auto mat = [&](const std::string& name, ggml_type t, std::uint32_t cols, std::uint32_t rows, std::uint32_t n = 0) {
        if (n == 0) {
            w.add_tensor(name, t, {cols, rows}, random_matrix(t, cols, rows, rng));
        } else {
            w.add_tensor(name, t, {cols, rows, n}, random_matrix(t, cols, std::size_t{rows} * n, rng));
        }
    };
    const std::uint32_t q = s.n_head * ms.head_dim, kv = s.n_head_kv * ms.head_dim;
    mat("token_embd.weight", type, s.n_embd, s.n_vocab);
    mat("output.weight", type, s.n_embd, s.n_vocab);
    w.add_tensor("output_norm.weight", ggml_type::f32, {s.n_embd}, ones(s.n_embd));
    for (std::uint32_t l = 0; l < s.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        w.add_tensor(p + "attn_norm.weight", ggml_type::f32, {s.n_embd}, ones(s.n_embd));
        w.add_tensor(p + "ffn_norm.weight", ggml_type::f32, {s.n_embd}, ones(s.n_embd));
        w.add_tensor(p + "attn_q_norm.weight", ggml_type::f32, {ms.head_dim}, ones(ms.head_dim));
        w.add_tensor(p + "attn_k_norm.weight", ggml_type::f32, {ms.head_dim}, ones(ms.head_dim));
        mat(p + "attn_q.weight", type, s.n_embd, q);
        mat(p + "attn_k.weight", type, s.n_embd, kv);
        mat(p + "attn_v.weight", type, s.n_embd, kv);
        mat(p + "attn_output.weight", type, q, s.n_embd);
        mat(p + "ffn_gate_inp.weight", ggml_type::f32, s.n_embd, ms.n_expert);
        mat(p + "ffn_gate_exps.weight", type, s.n_embd, ms.n_ff_exp, ms.n_expert);
        mat(p + "ffn_up_exps.weight", type, s.n_embd, ms.n_ff_exp, ms.n_expert);
        mat(p + "ffn_down_exps.weight", type, ms.n_ff_exp, s.n_embd, ms.n_expert);
    }
    return w.bytes();
}

// A gemma3 model (per-head q/k norms, post-attention and post-FFN norms, GELU FFN, tied
// embeddings), every matrix of `type`; sliding-window layers when `window` > 0, with the
// pattern key written only when `pattern` > 0 (llama.cpp's default 6 otherwise). Heads of
// n_embd / n_head, or of `head_dim` when set (written as key_length and value_length).
inline std::vector<std::byte> synthetic_gemma3(const model_shape& s, kernels::ggml_type type, std::uint32_t window,
                                               std::uint32_t pattern = 0, unsigned seed = 42, std::uint32_t head_dim = 0) {
    using kernels::ggml_type;
    std::mt19937 rng(seed);
    model::gguf_writer w;
    write_shape_metadata(w, s, "gemma3");
    w.add_f32("gemma3.rope.freq_base_swa", 10000.0f);
    if (window > 0) w.add_u32("gemma3.attention.sliding_window", window);
    if (pattern > 0) w.add_u32("gemma3.attention.sliding_window_pattern", pattern);
    const std::uint32_t hd = head_dim > 0 ? head_dim : s.n_embd / s.n_head;
    if (head_dim > 0) {
        w.add_u32("gemma3.attention.key_length", hd);
        w.add_u32("gemma3.attention.value_length", hd);
    }
    // Norm weights near 1 (Gemma files store 1 + w), varied so a misplaced norm shows.
    auto norm = [&](std::uint32_t n) {
        std::uniform_real_distribution<float> d(0.5f, 1.5f);
        std::vector<std::byte> b(n * 4);
        for (std::uint32_t i = 0; i < n; ++i) {
            const float v = d(rng);
            std::memcpy(b.data() + 4 * i, &v, 4);
        }
        return b;
    };
    auto mat = [&](const std::string& name, std::uint32_t cols, std::uint32_t rows) {
        w.add_tensor(name, type, {cols, rows}, random_matrix(type, cols, rows, rng));
    };
    mat("token_embd.weight", s.n_embd, s.n_vocab);
    w.add_tensor("output_norm.weight", ggml_type::f32, {s.n_embd}, norm(s.n_embd));
    for (std::uint32_t l = 0; l < s.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        for (const char* n : {"attn_norm", "ffn_norm", "post_attention_norm", "post_ffw_norm"}) {
            w.add_tensor(p + n + ".weight", ggml_type::f32, {s.n_embd}, norm(s.n_embd));
        }
        w.add_tensor(p + "attn_q_norm.weight", ggml_type::f32, {hd}, norm(hd));
        w.add_tensor(p + "attn_k_norm.weight", ggml_type::f32, {hd}, norm(hd));
        mat(p + "attn_q.weight", s.n_embd, s.n_head * hd);
        mat(p + "attn_k.weight", s.n_embd, s.n_head_kv * hd);
        mat(p + "attn_v.weight", s.n_embd, s.n_head_kv * hd);
        mat(p + "attn_output.weight", s.n_head * hd, s.n_embd);
        mat(p + "ffn_gate.weight", s.n_embd, s.n_ff);
        mat(p + "ffn_up.weight", s.n_embd, s.n_ff);
        mat(p + "ffn_down.weight", s.n_ff, s.n_embd);
    }
    return w.bytes();
}

// A qwen35 model (Qwen 3.5 dense hybrid): every `interval`-th layer gated full attention
// (query + gate projection, q/k norms, M-RoPE sections {1, 1, 1, 1} over n_rot 8, so one
// pair in four never turns), the others gated DeltaNet (conv kernel 4, 2 key heads and
// 4 value heads of 16); tied embeddings, matrices of `type`. Weights are larger than the
// other synthetic models' (sigma 0.3) so the recurrence moves the logits visibly.
struct qwen35_shape {
    model_shape base{64, 4, 4, 2, 96, 300};
    std::uint32_t head_dim = 32, n_rot = 8, interval = 4;
    std::uint32_t d_conv = 4, head_k = 16, n_k_heads = 2, n_v_heads = 4;
};

// `omit`: a tensor name left out (tests of the loader's errors).
inline std::vector<std::byte> synthetic_qwen35(const qwen35_shape& qs, kernels::ggml_type type, unsigned seed = 42,
                                               const std::string& omit = "") {
    using kernels::ggml_type;
    const auto& s = qs.base;
    std::mt19937 rng(seed);
    model::gguf_writer all;
    struct omitting {  // forwards everything but the tensor named `omit`
        model::gguf_writer& w;
        const std::string& omit;
        void add_tensor(const std::string& name, kernels::ggml_type t, std::vector<std::uint64_t> dims, std::vector<std::byte> data) {
            if (name != omit) w.add_tensor(name, t, std::move(dims), std::move(data));
        }
    };
    write_shape_metadata(all, s, "qwen35");
    auto& meta = all;
    omitting w{all, omit};
    meta.add_u32("qwen35.attention.key_length", qs.head_dim);
    meta.add_u32("qwen35.attention.value_length", qs.head_dim);
    meta.add_u32("qwen35.rope.dimension_count", qs.n_rot);
    meta.add_i32s("qwen35.rope.dimension_sections", {1, 1, 1, 1});
    meta.add_u32("qwen35.full_attention_interval", qs.interval);
    meta.add_u32("qwen35.ssm.conv_kernel", qs.d_conv);
    meta.add_u32("qwen35.ssm.state_size", qs.head_k);
    meta.add_u32("qwen35.ssm.group_count", qs.n_k_heads);
    meta.add_u32("qwen35.ssm.time_step_rank", qs.n_v_heads);
    meta.add_u32("qwen35.ssm.inner_size", qs.n_v_heads * qs.head_k);
    auto floats = [&](std::uint32_t n, auto&& gen) {
        std::vector<std::byte> b(n * 4);
        for (std::uint32_t i = 0; i < n; ++i) {
            const float v = gen();
            std::memcpy(b.data() + 4 * i, &v, 4);
        }
        return b;
    };
    std::uniform_real_distribution<float> near_one(0.5f, 1.5f);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto norm = [&](std::uint32_t n) { return floats(n, [&] { return near_one(rng); }); };
    auto mat = [&](const std::string& name, std::uint32_t cols, std::uint32_t rows) {
        w.add_tensor(name, type, {cols, rows}, random_matrix(type, cols, rows, rng, 0.3f));
    };
    const std::uint32_t q = s.n_head * qs.head_dim, kv = s.n_head_kv * qs.head_dim;
    const std::uint32_t key_dim = qs.n_k_heads * qs.head_k, value_dim = qs.n_v_heads * qs.head_k, conv_dim = 2 * key_dim + value_dim;
    mat("token_embd.weight", s.n_embd, s.n_vocab);
    w.add_tensor("output_norm.weight", ggml_type::f32, {s.n_embd}, norm(s.n_embd));
    for (std::uint32_t l = 0; l < s.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        w.add_tensor(p + "attn_norm.weight", ggml_type::f32, {s.n_embd}, norm(s.n_embd));
        w.add_tensor(p + "post_attention_norm.weight", ggml_type::f32, {s.n_embd}, norm(s.n_embd));
        mat(p + "ffn_gate.weight", s.n_embd, s.n_ff);
        mat(p + "ffn_up.weight", s.n_embd, s.n_ff);
        mat(p + "ffn_down.weight", s.n_ff, s.n_embd);
        if ((l + 1) % qs.interval == 0) {
            mat(p + "attn_q.weight", s.n_embd, 2 * q);
            mat(p + "attn_k.weight", s.n_embd, kv);
            mat(p + "attn_v.weight", s.n_embd, kv);
            mat(p + "attn_output.weight", q, s.n_embd);
            w.add_tensor(p + "attn_q_norm.weight", ggml_type::f32, {qs.head_dim}, norm(qs.head_dim));
            w.add_tensor(p + "attn_k_norm.weight", ggml_type::f32, {qs.head_dim}, norm(qs.head_dim));
            continue;
        }
        mat(p + "attn_qkv.weight", s.n_embd, conv_dim);
        mat(p + "attn_gate.weight", s.n_embd, value_dim);
        mat(p + "ssm_beta.weight", s.n_embd, qs.n_v_heads);
        mat(p + "ssm_alpha.weight", s.n_embd, qs.n_v_heads);
        mat(p + "ssm_out.weight", value_dim, s.n_embd);
        w.add_tensor(p + "ssm_conv1d.weight", ggml_type::f32, {qs.d_conv, conv_dim}, floats(qs.d_conv * conv_dim, [&] { return 0.5f * normal(rng); }));
        w.add_tensor(p + "ssm_dt.bias", ggml_type::f32, {qs.n_v_heads}, floats(qs.n_v_heads, [&] { return normal(rng); }));
        w.add_tensor(p + "ssm_a", ggml_type::f32, {qs.n_v_heads}, floats(qs.n_v_heads, [&] { return -std::exp(0.5f * normal(rng)); }));
        w.add_tensor(p + "ssm_norm.weight", ggml_type::f32, {qs.head_k}, norm(qs.head_k));
    }
    return all.bytes();
}

// A gemma4 model in the layout of the small Gemma 4 checkpoints, shrunk: 6 layers SSSFSF
// (sliding window `window`, rope base 1e4 on 16-wide heads with 2 KV heads; full layers
// rope base 1e6 on 32-wide heads with 1 KV head, proportional rope turning a quarter of
// each head, no attn_v so V is K), the last 2 layers attending over the KV of layers 2 and
// 3 with a double-wide FFN, per-layer embeddings of 4 per layer, layer output scales, final
// logit softcapping 30, tied embeddings. Matrices of `type` (Q8_0 or Q4_0); the per-layer
// projections and per-layer token embeddings F16, per_layer_model_proj F32 (as real files).
inline std::vector<std::byte> synthetic_gemma4(kernels::ggml_type type, std::uint32_t window = 4, unsigned seed = 42) {
    using kernels::ggml_type;
    constexpr std::uint32_t n_embd = 64, n_layer = 6, n_head = 4, n_vocab = 300, n_pl = 4, hd_swa = 16, hd_full = 32;
    const std::vector<bool> sliding{true, true, true, false, true, false};
    const std::vector<std::uint32_t> n_kv{2, 2, 2, 1, 2, 1}, n_ff{96, 96, 96, 96, 192, 192};
    std::mt19937 rng(seed);
    model::gguf_writer w;
    w.add_string("general.architecture", "gemma4");
    w.add_string("general.name", "synthetic");
    w.add_u32("gemma4.context_length", 2048);
    w.add_u32("gemma4.embedding_length", n_embd);
    w.add_u32("gemma4.block_count", n_layer);
    w.add_u32s("gemma4.feed_forward_length", n_ff);
    w.add_u32("gemma4.attention.head_count", n_head);
    w.add_u32s("gemma4.attention.head_count_kv", n_kv);
    w.add_f32("gemma4.rope.freq_base", 1000000.0f);
    w.add_f32("gemma4.rope.freq_base_swa", 10000.0f);
    w.add_f32("gemma4.attention.layer_norm_rms_epsilon", 1e-6f);
    w.add_u32("gemma4.attention.key_length", hd_full);
    w.add_u32("gemma4.attention.value_length", hd_full);
    w.add_u32("gemma4.attention.key_length_swa", hd_swa);
    w.add_u32("gemma4.attention.value_length_swa", hd_swa);
    w.add_u32("gemma4.rope.dimension_count", hd_full);
    w.add_u32("gemma4.rope.dimension_count_swa", hd_swa);
    w.add_f32("gemma4.final_logit_softcapping", 30.0f);
    w.add_u32("gemma4.attention.sliding_window", window);
    w.add_u32("gemma4.attention.shared_kv_layers", 2);
    w.add_u32("gemma4.embedding_length_per_layer_input", n_pl);
    w.add_bools("gemma4.attention.sliding_window_pattern", sliding);
    // Weights near 1 (norms, output scales), varied so a misplaced one shows.
    auto near_one = [&](std::uint32_t n, float lo = 0.5f, float hi = 1.5f) {
        std::uniform_real_distribution<float> d(lo, hi);
        std::vector<std::byte> b(n * 4);
        for (std::uint32_t i = 0; i < n; ++i) {
            const float v = d(rng);
            std::memcpy(b.data() + 4 * i, &v, 4);
        }
        return b;
    };
    auto vec = [&](const std::string& name, std::uint32_t n) { w.add_tensor(name, ggml_type::f32, {n}, near_one(n)); };
    auto mat = [&](const std::string& name, std::uint32_t cols, std::uint32_t rows, ggml_type t) {
        w.add_tensor(name, t, {cols, rows}, random_matrix(t, cols, rows, rng));
    };
    mat("token_embd.weight", n_embd, n_vocab, type);
    vec("output_norm.weight", n_embd);
    mat("per_layer_token_embd.weight", n_pl * n_layer, n_vocab, ggml_type::f16);
    mat("per_layer_model_proj.weight", n_embd, n_pl * n_layer, ggml_type::f32);
    vec("per_layer_proj_norm.weight", n_pl);
    std::vector<float> freqs(hd_full / 2, 1e30f);  // proportional rope: the first quarter of each head turns
    for (std::uint32_t i = 0; i < hd_full / 8; ++i) freqs[i] = 1.0f;
    std::vector<std::byte> fb(freqs.size() * 4);
    std::memcpy(fb.data(), freqs.data(), fb.size());
    w.add_tensor("rope_freqs.weight", ggml_type::f32, {hd_full / 2}, fb);
    for (std::uint32_t l = 0; l < n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        const std::uint32_t hd = sliding[l] ? hd_swa : hd_full;
        const bool owns_kv = l < n_layer - 2;
        for (const char* n : {"attn_norm", "ffn_norm", "post_attention_norm", "post_ffw_norm", "post_norm"}) vec(p + n + ".weight", n_embd);
        vec(p + "attn_q_norm.weight", hd);
        mat(p + "attn_q.weight", n_embd, n_head * hd, type);
        if (owns_kv) {
            vec(p + "attn_k_norm.weight", hd);
            mat(p + "attn_k.weight", n_embd, n_kv[l] * hd, type);
            if (sliding[l]) mat(p + "attn_v.weight", n_embd, n_kv[l] * hd, type);
        }
        mat(p + "attn_output.weight", n_head * hd, n_embd, type);
        mat(p + "ffn_gate.weight", n_embd, n_ff[l], type);
        mat(p + "ffn_up.weight", n_embd, n_ff[l], type);
        mat(p + "ffn_down.weight", n_ff[l], n_embd, type);
        mat(p + "inp_gate.weight", n_embd, n_pl, type);
        mat(p + "proj.weight", n_pl, n_embd, ggml_type::f16);
        w.add_tensor(p + "layer_output_scale.weight", ggml_type::f32, {1}, near_one(1, 0.6f, 0.95f));
    }
    return w.bytes();
}

}  // namespace sluice::test
