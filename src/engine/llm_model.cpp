#include "sluice/engine/llm_model.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <numbers>

#include "sluice/kernels/dequantize.hpp"
#include "sluice/util/error.hpp"

namespace sluice::engine {
namespace {

class tensor_loader {
public:
    explicit tensor_loader(const model::gguf_file& f) : f_(f) {}

    const model::gguf_tensor* find(const std::string& name) const { return f_.find_tensor(name); }

    const model::gguf_tensor& get(const std::string& name) const {
        const auto* t = f_.find_tensor(name);
        if (t == nullptr) throw error(errc::invalid_format, f_.source() + ": missing tensor '" + name + "'");
        return *t;
    }

    // A matrix [rows x cols] (GGUF dims {cols, rows}) of a computable type.
    kernels::weight_matrix matrix(const std::string& name, std::uint64_t cols, std::uint64_t rows) const {
        return matrix_of(get(name), cols, rows);
    }

    kernels::weight_matrix matrix_of(const model::gguf_tensor& t, std::uint64_t cols, std::uint64_t rows) const {
        check_computable(t);
        const bool shape_ok = t.dims.size() == 2 && t.dims[0] == cols && t.dims[1] == rows;
        if (!shape_ok) throw error(errc::invalid_format, f_.source() + ": tensor '" + std::string(t.name) + "' has shape " + shape(t) +
                                                             ", expected [" + std::to_string(cols) + ", " + std::to_string(rows) + "]");
        return kernels::make_weight_matrix(t.type, t.data, cols, rows);
    }

    // The n matrices [rows x cols] of a 3-D tensor (GGUF dims {cols, rows, n}), one per
    // expert: each slice is an ordinary 2-D matrix of rows * row_bytes bytes.
    std::vector<kernels::weight_matrix> slices(const std::string& name, std::uint64_t cols, std::uint64_t rows, std::uint64_t n) const {
        const auto& t = get(name);
        check_computable(t);
        const bool shape_ok = t.dims.size() == 3 && t.dims[0] == cols && t.dims[1] == rows && t.dims[2] == n;
        if (!shape_ok) throw error(errc::invalid_format, f_.source() + ": tensor '" + name + "' has shape " + shape(t) + ", expected [" +
                                                             std::to_string(cols) + ", " + std::to_string(rows) + ", " + std::to_string(n) + "]");
        const auto first = kernels::make_weight_matrix(t.type, t.data, cols, rows);
        std::vector<kernels::weight_matrix> out{first};
        for (std::uint64_t e = 1; e < n; ++e) {
            out.push_back(kernels::make_weight_matrix(t.type, static_cast<const std::byte*>(t.data) + e * rows * first.row_bytes, cols, rows));
        }
        return out;
    }

    void check_computable(const model::gguf_tensor& t) const {
        const std::string name(t.name);
        if (!kernels::is_computable(t.type)) {
            throw error(errc::unsupported, f_.source() + ": tensor '" + name + "' has type " +
                                               std::string(model::name_of(t.type)) +
                                               ", which sluice cannot compute with (supported: F32 F16 BF16 Q8_0 "
                                               "Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL IQ4_XS)");
        }
    }

    // A vector of n values converted to float.
    std::vector<float> vec(const std::string& name, std::uint64_t n) const {
        const auto& t = get(name);
        if (t.n_elements() != n) {
            throw error(errc::invalid_format, f_.source() + ": tensor '" + name + "' has shape " + shape(t) +
                                                  ", expected " + std::to_string(n) + " values");
        }
        if (!kernels::is_computable(t.type)) {
            throw error(errc::unsupported, f_.source() + ": tensor '" + name + "' has unsupported type " +
                                               std::string(model::name_of(t.type)));
        }
        std::vector<float> out(n);
        kernels::dequantize_row(t.type, t.data, out.data(), n);
        return out;
    }

private:
    static std::string shape(const model::gguf_tensor& t) {
        std::string s = "[";
        for (std::size_t i = 0; i < t.dims.size(); ++i) s += (i ? ", " : "") + std::to_string(t.dims[i]);
        return s + "]";
    }
    const model::gguf_file& f_;
};

// Asks the kernel to reclaim the whole pages inside [p, p + n) (a hint; never loses data).
void release_pages(const void* p, std::size_t n) {
#ifdef MADV_PAGEOUT
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<std::uintptr_t>(p) + page - 1) / page * page;
    const auto end = (reinterpret_cast<std::uintptr_t>(p) + n) / page * page;
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);
#else
    (void)p;
    (void)n;
#endif
}

// Llama 3.1 frequency factors from metadata, for files without a rope_freqs tensor.
std::vector<float> llama3_factors(const model::gguf_file& f, const model::hyper_params& hp) {
    const auto& a = hp.architecture;
    const float factor = model::find_f32(f, model::arch_key(a, "rope.scaling.factor")).value_or(8.0f);
    const float low = model::find_f32(f, model::arch_key(a, "rope.scaling.low_freq_factor")).value_or(1.0f);
    const float high = model::find_f32(f, model::arch_key(a, "rope.scaling.high_freq_factor")).value_or(4.0f);
    const float old_ctx = static_cast<float>(
        model::find_u32(f, model::arch_key(a, "rope.scaling.original_context_length")).value_or(8192));
    const float low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
    std::vector<float> out(hp.n_rot / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const float freq = 1.0f / std::pow(hp.rope_freq_base, 2.0f * static_cast<float>(i) / static_cast<float>(hp.n_rot));
        const float wavelen = 2.0f * std::numbers::pi_v<float> / freq;
        if (wavelen < high_wavelen) {
            out[i] = 1.0f;
        } else if (wavelen > low_wavelen) {
            out[i] = factor;
        } else {
            const float smooth = (old_ctx / wavelen - low) / (high - low);
            out[i] = 1.0f / ((1.0f - smooth) / factor + smooth);
        }
    }
    return out;
}

// qwen3moe's routing (llama.cpp's qwen3moe graph): softmax gating, the used experts'
// weights always renormalised (its graph passes norm_w = true whatever the metadata), no
// extra scale (llama.cpp does not read expert_weights_scale for this architecture).
moe_params read_moe_params(const model::gguf_file& f, const model::hyper_params& hp) {
    const auto& a = hp.architecture;
    moe_params p;
    p.n_expert = model::get_u32(f, model::arch_key(a, "expert_count"));
    p.n_used = model::get_u32(f, model::arch_key(a, "expert_used_count"));
    if (p.n_expert == 0 || p.n_used == 0 || p.n_used > p.n_expert) {
        throw error(errc::invalid_format, f.source() + ": " + std::to_string(p.n_used) + " of " + std::to_string(p.n_expert) +
                                              " experts used per token");
    }
    p.n_ff_exp = model::find_u32(f, model::arch_key(a, "expert_feed_forward_length")).value_or(hp.n_ff / p.n_used);
    p.norm_weights = true;
    return p;
}

// Which layers use sliding-window attention, and the window (0: none). gemma3 and gemma4 as
// llama.cpp reads them (gemma4 files always carry the bool array): with <arch>.attention.sliding_window > 0, the pattern is
// <arch>.attention.sliding_window_pattern -- a per-layer bool array, or n meaning every
// n-th layer is global (default 6: layers 5, 11, ...), 0 meaning all sliding.
std::vector<bool> sliding_layers(const model::gguf_file& f, const model::hyper_params& hp, architecture arch, std::uint32_t& window) {
    std::vector<bool> out(hp.n_layer, false);
    window = 0;
    if (arch != architecture::gemma3 && arch != architecture::gemma4) return out;
    const auto& a = hp.architecture;
    window = model::find_u32(f, model::arch_key(a, "attention.sliding_window")).value_or(0);
    if (window == 0) return out;
    const std::string key = model::arch_key(a, "attention.sliding_window_pattern");
    const auto* v = f.find(key);
    if (v != nullptr && v->type() == model::gguf_type::array) {
        const auto& arr = v->as_array(key);
        if (arr.count != hp.n_layer || arr.element_type != model::gguf_type::boolean) {
            throw error(errc::invalid_format, f.source() + ": " + key + " must hold one bool per layer");
        }
        for (std::uint32_t i = 0; i < hp.n_layer; ++i) out[i] = arr.raw[i] != std::byte{0};
        return out;
    }
    const std::uint32_t n = v != nullptr ? model::get_u32(f, key) : 6;
    for (std::uint32_t i = 0; i < hp.n_layer; ++i) out[i] = n == 0 || i % n < n - 1;
    return out;
}

// qwen35: the gated-DeltaNet layers -- attention.recurrent_layers (a bool per layer) or,
// without it, every layer but each full_attention_interval-th (default 4), as llama.cpp.
std::vector<bool> recurrent_layers(const model::gguf_file& f, const model::hyper_params& hp) {
    std::vector<bool> out(hp.n_layer, false);
    const auto& a = hp.architecture;
    const std::string key = model::arch_key(a, "attention.recurrent_layers");
    if (const auto* v = f.find(key); v != nullptr) {
        const auto& arr = v->as_array(key);
        if (arr.count != hp.n_layer || arr.element_type != model::gguf_type::boolean) {
            throw error(errc::invalid_format, f.source() + ": " + key + " must hold one bool per layer");
        }
        for (std::uint32_t i = 0; i < hp.n_layer; ++i) out[i] = arr.raw[i] != std::byte{0};
        return out;
    }
    const std::uint32_t n = model::find_u32(f, model::arch_key(a, "full_attention_interval")).value_or(4);
    if (n == 0) throw error(errc::invalid_format, f.source() + ": full_attention_interval is 0");
    for (std::uint32_t i = 0; i < hp.n_layer; ++i) out[i] = (i + 1) % n != 0;
    return out;
}

delta_net_params read_delta_net_params(const model::gguf_file& f, const model::hyper_params& hp) {
    const auto& a = hp.architecture;
    delta_net_params d;
    d.d_conv = model::get_u32(f, model::arch_key(a, "ssm.conv_kernel"));
    d.head_k = model::get_u32(f, model::arch_key(a, "ssm.state_size"));
    d.n_k_heads = model::get_u32(f, model::arch_key(a, "ssm.group_count"));
    d.n_v_heads = model::get_u32(f, model::arch_key(a, "ssm.time_step_rank"));
    const std::uint32_t inner = model::get_u32(f, model::arch_key(a, "ssm.inner_size"));
    if (d.d_conv < 1 || d.head_k == 0 || d.n_k_heads == 0 || d.n_v_heads == 0 || inner % d.n_v_heads != 0 ||
        d.n_v_heads % d.n_k_heads != 0 || inner / d.n_v_heads != d.head_k) {
        throw error(errc::invalid_format, f.source() + ": inconsistent ssm.* sizes (conv kernel " + std::to_string(d.d_conv) +
                                              ", state " + std::to_string(d.head_k) + ", groups " + std::to_string(d.n_k_heads) +
                                              ", time-step rank " + std::to_string(d.n_v_heads) + ", inner " + std::to_string(inner) + ")");
    }
    d.head_v = inner / d.n_v_heads;
    return d;
}

// qwen35's interleaved M-RoPE (llama.cpp's IMROPE) for text: pair i belongs to sector
// i % (s0+s1+s2+s3) of rope.dimension_sections; sectors 3j, 3j+1, 3j+2 (below 3*s0, 3*s1,
// 3*s2) take the temporal, height and width positions -- all the token's position for
// text -- and the rest the fourth, which is 0 for text: those pairs never turn.
std::vector<bool> mrope_unrotated(const model::gguf_file& f, const model::hyper_params& hp) {
    const std::string key = model::arch_key(hp.architecture, "rope.dimension_sections");
    const auto* v = f.find(key);
    if (v == nullptr) return {};
    const auto s = v->int_array(key);
    if (s.size() < 3) throw error(errc::invalid_format, f.source() + ": " + key + " needs at least 3 sections");
    const std::int64_t s3 = s.size() > 3 ? s[3] : 0, total = s[0] + s[1] + s[2] + s3;
    if (total <= 0 || total > static_cast<std::int64_t>(hp.n_rot / 2)) {
        throw error(errc::invalid_format, f.source() + ": " + key + " does not fit " + std::to_string(hp.n_rot) + " rope dimensions");
    }
    std::vector<bool> out(hp.n_rot / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const std::int64_t sector = static_cast<std::int64_t>(i) % total;
        const bool t = sector % 3 == 0 && sector < 3 * s[0], h = sector % 3 == 1 && sector < 3 * s[1];
        const bool w = sector % 3 == 2 && sector < 3 * s[2];
        out[i] = !(t || h || w);
    }
    return out;
}

// One qwen35 layer: RMSNorm (attn_norm), a gated-DeltaNet or gated full-attention block,
// the residual, RMSNorm (post_attention_norm, which plays ffn_norm's part), SwiGLU FFN.
void load_qwen35_layer(const tensor_loader& t, const std::string& p, const model::hyper_params& hp, const delta_net_params& d,
                       bool recurrent, layer_weights& l) {
    l.attn_norm = t.vec(p + "attn_norm.weight", hp.n_embd);
    l.ffn_norm = t.vec(p + "post_attention_norm.weight", hp.n_embd);
    l.w_gate = t.matrix(p + "ffn_gate.weight", hp.n_embd, hp.n_ff);
    l.w_up = t.matrix(p + "ffn_up.weight", hp.n_embd, hp.n_ff);
    l.w_down = t.matrix(p + "ffn_down.weight", hp.n_ff, hp.n_embd);
    if (!recurrent) {
        const std::uint64_t q_dim = std::uint64_t{hp.n_head} * hp.head_dim_k;
        l.attn_gated = true;
        l.wq = t.matrix(p + "attn_q.weight", hp.n_embd, 2 * q_dim);  // query and gate, per head
        l.wk = t.matrix(p + "attn_k.weight", hp.n_embd, std::uint64_t{hp.n_head_kv} * hp.head_dim_k);
        l.wv = t.matrix(p + "attn_v.weight", hp.n_embd, std::uint64_t{hp.n_head_kv} * hp.head_dim_v);
        l.wo = t.matrix(p + "attn_output.weight", std::uint64_t{hp.n_head} * hp.head_dim_v, hp.n_embd);
        l.q_norm = t.vec(p + "attn_q_norm.weight", hp.head_dim_k);
        l.k_norm = t.vec(p + "attn_k_norm.weight", hp.head_dim_k);
        return;
    }
    l.recurrent = true;
    l.ssm_qkv = t.matrix(p + "attn_qkv.weight", hp.n_embd, d.conv_dim());
    l.ssm_z = t.matrix(p + "attn_gate.weight", hp.n_embd, d.value_dim());
    l.ssm_beta = t.matrix(p + "ssm_beta.weight", hp.n_embd, d.n_v_heads);
    l.ssm_alpha = t.matrix(p + "ssm_alpha.weight", hp.n_embd, d.n_v_heads);
    l.ssm_out = t.matrix(p + "ssm_out.weight", d.value_dim(), hp.n_embd);
    l.ssm_conv = t.vec(p + "ssm_conv1d.weight", d.conv_dim() * d.d_conv);  // GGUF dims {d_conv, conv_dim}
    if (const auto& c = t.get(p + "ssm_conv1d.weight"); c.dims.size() != 2 || c.dims[0] != d.d_conv) {
        throw error(errc::invalid_format, "tensor '" + p + "ssm_conv1d.weight' must have shape [" + std::to_string(d.d_conv) + ", " +
                                              std::to_string(d.conv_dim()) + "]");
    }
    l.ssm_dt = t.vec(p + "ssm_dt.bias", d.n_v_heads);
    l.ssm_a = t.vec(p + "ssm_a", d.n_v_heads);
    l.ssm_norm = t.vec(p + "ssm_norm.weight", d.head_v);
}

// gemma4's shared-KV layers, as llama.cpp maps them: with <arch>.attention.shared_kv_layers
// = s, the first n_layer - s layers own their KV and each later layer attends over the last
// owning layer of its kind (sliding or not) -- which must have its shapes.
void assign_kv_sources(const model::gguf_file& f, const model::hyper_params& hp, std::vector<layer_weights>& layers) {
    const std::uint32_t shared = model::find_u32(f, model::arch_key(hp.architecture, "attention.shared_kv_layers")).value_or(0);
    if (shared == 0) return;
    if (shared + 2 > hp.n_layer) {
        throw error(errc::invalid_format, f.source() + ": " + std::to_string(shared) + " shared-KV layers of " + std::to_string(hp.n_layer) +
                                              " leave fewer than 2 layers with their own KV");
    }
    const std::uint32_t first_shared = hp.n_layer - shared;
    for (std::uint32_t i = first_shared; i < hp.n_layer; ++i) {
        auto& l = layers[i];
        l.kv_source = first_shared - (l.sliding ? 2 : 1);
        const auto& src = layers[l.kv_source];
        if (src.sliding != l.sliding || src.n_head_kv != l.n_head_kv || src.head_dim_k != l.head_dim_k || src.head_dim_v != l.head_dim_v) {
            throw error(errc::invalid_format, f.source() + ": layer " + std::to_string(i) + " shares the KV of layer " +
                                                  std::to_string(l.kv_source) + ", which has another kind or shape");
        }
    }
}

// gemma4's layer-specific tensors: attention without K/V on shared-KV layers, V = K without
// attn_v, the output scale and the per-layer embedding block.
void load_gemma4_layer(const tensor_loader& t, const std::string& p, std::uint32_t i, std::uint32_t n_embd, std::uint32_t n_pl,
                       layer_weights& l) {
    const std::uint64_t k_dim = std::uint64_t{l.n_head_kv} * l.head_dim_k;
    if (l.kv_source == i) {
        l.wk = t.matrix(p + "attn_k.weight", n_embd, k_dim);
        l.k_norm = t.vec(p + "attn_k_norm.weight", l.head_dim_k);
        if (t.find(p + "attn_v.weight") != nullptr) {
            l.wv = t.matrix(p + "attn_v.weight", n_embd, std::uint64_t{l.n_head_kv} * l.head_dim_v);
        } else {
            l.v_is_k = true;
        }
    }
    if (t.find(p + "layer_output_scale.weight") != nullptr) l.output_scale = t.vec(p + "layer_output_scale.weight", 1)[0];
    if (n_pl > 0) {
        l.pl_gate = t.matrix(p + "inp_gate.weight", n_embd, n_pl);
        l.pl_proj = t.matrix(p + "proj.weight", n_pl, n_embd);
        l.pl_post_norm = t.vec(p + "post_norm.weight", n_embd);
    }
}

}  // namespace

std::unique_ptr<llm_model> llm_model::load(const model::gguf_file& f) {
    auto m = std::make_unique<llm_model>();
    m->hp_ = model::read_hyper_params(f);
    const auto& hp = m->hp_;
    if (hp.architecture == "llama") {
        m->arch_ = architecture::llama;
        m->rope_ = rope_style::norm;
    } else if (hp.architecture == "qwen2") {
        m->arch_ = architecture::qwen2;
        m->rope_ = rope_style::neox;
    } else if (hp.architecture == "qwen3") {
        m->arch_ = architecture::qwen3;
        m->rope_ = rope_style::neox;
    } else if (hp.architecture == "qwen3moe") {
        m->arch_ = architecture::qwen3moe;
        m->rope_ = rope_style::neox;
        m->moe_ = read_moe_params(f, hp);
    } else if (hp.architecture == "gemma3") {
        m->arch_ = architecture::gemma3;
        m->rope_ = rope_style::neox;
        m->act_ = ffn_activation::gelu;
        m->embd_scale_ = std::sqrt(static_cast<float>(hp.n_embd));
        m->softcap_ = model::find_f32(f, model::arch_key(hp.architecture, "final_logit_softcapping")).value_or(0.0f);
    } else if (hp.architecture == "qwen35") {
        m->arch_ = architecture::qwen35;
        m->rope_ = rope_style::neox;  // IMROPE rotates (i, i + n_rot/2), as NEOX
        m->dnet_ = read_delta_net_params(f, hp);
        if (hp.head_dim_k != hp.head_dim_v) {
            throw error(errc::invalid_format, f.source() + ": qwen35 needs equal key and value head sizes (" + std::to_string(hp.head_dim_k) +
                                                  ", " + std::to_string(hp.head_dim_v) + ")");
        }
    } else if (hp.architecture == "gemma4") {
        m->arch_ = architecture::gemma4;
        m->rope_ = rope_style::neox;
        m->act_ = ffn_activation::gelu;
        m->embd_scale_ = std::sqrt(static_cast<float>(hp.n_embd));
        m->softcap_ = model::find_f32(f, model::arch_key(hp.architecture, "final_logit_softcapping")).value_or(0.0f);
        m->v_norm_ = true;
    } else {
        throw error(errc::unsupported, f.source() + ": architecture '" + hp.architecture +
                                           "' is not supported (supported: llama, qwen2, qwen3, qwen3moe, gemma3, gemma4, qwen35)");
    }
    m->attn_scale_ = 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k));
    if (m->arch_ == architecture::gemma4) m->attn_scale_ = 1.0f;  // q and k are RMS-normalised; no further scaling
    if (m->arch_ == architecture::gemma3 && hp.n_layer == 62) {  // Gemma 3 27B scales by the model width (as llama.cpp)
        m->attn_scale_ = 1.0f / std::sqrt(static_cast<float>(hp.n_embd / hp.n_head));
    }
    const auto sliding = sliding_layers(f, hp, m->arch_, m->sliding_window_);
    // Head sizes and rope dimensions of sliding-window layers (gemma4 has its own; llama.cpp's
    // *_swa keys, defaulting to the full layers').
    std::uint32_t head_k_swa = hp.head_dim_k, head_v_swa = hp.head_dim_v, n_rot_swa = hp.n_rot;
    if (m->arch_ == architecture::gemma4) {
        const auto& a = hp.architecture;
        head_k_swa = model::find_u32(f, model::arch_key(a, "attention.key_length_swa")).value_or(hp.head_dim_k);
        head_v_swa = model::find_u32(f, model::arch_key(a, "attention.value_length_swa")).value_or(hp.head_dim_v);
        n_rot_swa = model::find_u32(f, model::arch_key(a, "rope.dimension_count_swa")).value_or(hp.n_rot);
        if (hp.head_dim_k != hp.head_dim_v || head_k_swa != head_v_swa) {
            throw error(errc::invalid_format, f.source() + ": gemma4 needs keys and values of one head size");
        }
    }
    for (const auto& [n_rot, head] : {std::pair{hp.n_rot, hp.head_dim_k}, std::pair{n_rot_swa, head_k_swa}}) {
        if (n_rot == 0 || n_rot > head || n_rot % 2 != 0) {
            throw error(errc::invalid_format, f.source() + ": rope dimension " + std::to_string(n_rot) + " does not fit head size " +
                                                  std::to_string(head));
        }
    }
    tensor_loader t(f);
    const auto& emb = t.get("token_embd.weight");
    if (emb.dims.size() != 2 || emb.dims[0] != hp.n_embd) {
        throw error(errc::invalid_format, f.source() + ": token_embd.weight does not have n_embd columns");
    }
    m->n_vocab_ = static_cast<std::uint32_t>(emb.dims[1]);
    m->token_embd_ = t.matrix_of(emb, hp.n_embd, m->n_vocab_);
    m->output_norm_ = t.vec("output_norm.weight", hp.n_embd);
    if (const auto* out = t.find("output.weight")) {
        m->output_ = t.matrix_of(*out, hp.n_embd, m->n_vocab_);
    } else {
        m->output_ = m->token_embd_;
        m->tied_ = true;
    }
    const bool gemma4 = m->arch_ == architecture::gemma4;
    const auto recurrent = m->arch_ == architecture::qwen35 ? recurrent_layers(f, hp) : std::vector<bool>(hp.n_layer, false);
    for (std::uint32_t i = 0; i < hp.n_layer; ++i) {
        layer_weights l;
        l.sliding = sliding[i];
        l.n_head_kv = hp.n_head_kv_layer[i];
        l.head_dim_k = l.sliding ? head_k_swa : hp.head_dim_k;
        l.head_dim_v = l.sliding ? head_v_swa : hp.head_dim_v;
        l.n_ff = hp.n_ff_layer[i];
        l.kv_source = i;
        m->layers_.push_back(std::move(l));
    }
    if (gemma4) assign_kv_sources(f, hp, m->layers_);
    if (gemma4) {
        const std::uint32_t n_pl = model::get_u32(f, model::arch_key(hp.architecture, "embedding_length_per_layer_input"));
        auto& pl = m->per_layer_;
        pl.n = n_pl;
        if (n_pl > 0) {
            pl.token_embd = t.matrix("per_layer_token_embd.weight", std::uint64_t{n_pl} * hp.n_layer, m->n_vocab_);
            pl.model_proj = t.matrix("per_layer_model_proj.weight", hp.n_embd, std::uint64_t{n_pl} * hp.n_layer);
            pl.proj_norm = t.vec("per_layer_proj_norm.weight", n_pl);
        }
    }
    for (std::uint32_t i = 0; i < hp.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        layer_weights& l = m->layers_[i];
        if (m->arch_ == architecture::qwen35) {
            load_qwen35_layer(t, p, hp, m->dnet_, recurrent[i], l);
            continue;
        }
        const std::uint64_t q_dim = std::uint64_t{hp.n_head} * l.head_dim_k;
        const std::uint64_t k_dim = std::uint64_t{l.n_head_kv} * l.head_dim_k;
        const std::uint64_t v_dim = std::uint64_t{l.n_head_kv} * l.head_dim_v;
        l.attn_norm = t.vec(p + "attn_norm.weight", hp.n_embd);
        l.ffn_norm = t.vec(p + "ffn_norm.weight", hp.n_embd);
        l.wq = t.matrix(p + "attn_q.weight", hp.n_embd, q_dim);
        if (gemma4) {
            if (t.find(p + "ffn_gate_inp.weight") != nullptr) {
                throw error(errc::unsupported, f.source() + ": gemma4 with a mixture of experts (" + p + "ffn_gate_inp.weight) is not supported");
            }
            load_gemma4_layer(t, p, i, hp.n_embd, m->per_layer_.n, l);
        } else {
            l.wk = t.matrix(p + "attn_k.weight", hp.n_embd, k_dim);
            l.wv = t.matrix(p + "attn_v.weight", hp.n_embd, v_dim);
        }
        l.wo = t.matrix(p + "attn_output.weight", std::uint64_t{hp.n_head} * l.head_dim_v, hp.n_embd);
        if (m->moe_.n_expert > 0) {
            const auto& moe = m->moe_;
            l.router = t.matrix(p + "ffn_gate_inp.weight", hp.n_embd, moe.n_expert);
            const auto gate = t.slices(p + "ffn_gate_exps.weight", hp.n_embd, moe.n_ff_exp, moe.n_expert);
            const auto up = t.slices(p + "ffn_up_exps.weight", hp.n_embd, moe.n_ff_exp, moe.n_expert);
            const auto down = t.slices(p + "ffn_down_exps.weight", moe.n_ff_exp, hp.n_embd, moe.n_expert);
            for (std::uint32_t e = 0; e < moe.n_expert; ++e) l.experts.push_back({gate[e], up[e], down[e]});
        } else {
            l.w_gate = t.matrix(p + "ffn_gate.weight", hp.n_embd, l.n_ff);
            l.w_up = t.matrix(p + "ffn_up.weight", hp.n_embd, l.n_ff);
            l.w_down = t.matrix(p + "ffn_down.weight", l.n_ff, hp.n_embd);
        }
        if (m->arch_ == architecture::qwen2) {
            l.bq = t.vec(p + "attn_q.bias", q_dim);
            l.bk = t.vec(p + "attn_k.bias", k_dim);
            l.bv = t.vec(p + "attn_v.bias", v_dim);
        } else if (t.find(p + "attn_q.bias") != nullptr) {  // some llama-architecture files carry biases
            l.bq = t.vec(p + "attn_q.bias", q_dim);
            l.bk = t.vec(p + "attn_k.bias", k_dim);
            l.bv = t.vec(p + "attn_v.bias", v_dim);
        }
        if (m->arch_ == architecture::qwen3 || m->arch_ == architecture::qwen3moe || m->arch_ == architecture::gemma3) {
            l.q_norm = t.vec(p + "attn_q_norm.weight", hp.head_dim_k);
            l.k_norm = t.vec(p + "attn_k_norm.weight", hp.head_dim_k);
        }
        if (gemma4) l.q_norm = t.vec(p + "attn_q_norm.weight", l.head_dim_k);  // k_norm: with the layer's K, above
        if (m->arch_ == architecture::gemma3 || gemma4) {
            // Gemma's (1 + w) norm convention: its converter already stored w + 1, so the
            // weights are used as they are, like every other RMSNorm weight.
            l.post_attn_norm = t.vec(p + "post_attention_norm.weight", hp.n_embd);
            l.post_ffn_norm = t.vec(p + "post_ffw_norm.weight", hp.n_embd);
        }
    }

    // RoPE frequency factors: a rope_freqs tensor (Llama 3.1 conversions; gemma4: its full
    // layers' proportional rope, factors of 1e30 leaving the unrotated pairs still), llama3 scaling
    // from metadata, linear position scaling, or none.
    auto& rope = m->rope_global_;
    rope.n_rot = hp.n_rot;
    rope.freq_base = hp.rope_freq_base;
    rope.freq_factors.assign(hp.n_rot / 2, 1.0f);
    const std::string& scaling = hp.rope_scaling_type;
    if (t.find("rope_freqs.weight") != nullptr) {
        rope.freq_factors = t.vec("rope_freqs.weight", hp.n_rot / 2);
    } else if (scaling == "llama3") {
        rope.freq_factors = llama3_factors(f, hp);
    } else if (scaling == "linear") {
        rope.position_scale = hp.rope_scaling_factor > 0 ? 1.0f / hp.rope_scaling_factor : 1.0f;
    } else if (!scaling.empty() && scaling != "none") {
        throw error(errc::unsupported, f.source() + ": rope scaling type '" + scaling +
                                           "' is not supported (supported: none, linear, llama3)");
    }
    if (m->arch_ == architecture::qwen35) rope.unrotated = mrope_unrotated(f, hp);
    m->rope_local_.freq_base = model::find_f32(f, model::arch_key(hp.architecture, "rope.freq_base_swa")).value_or(10000.0f);
    m->rope_local_.n_rot = n_rot_swa;
    m->rope_local_.freq_factors.assign(n_rot_swa / 2, 1.0f);

    // Matrices of the integer GEMM's types get a copy in its interleaved layout, owned here
    // (the mapping stays unmodified; token_embd keeps serving row lookups from it). The
    // originals' pages, read once for packing, are handed back to the kernel (MADV_PAGEOUT
    // never discards data: clean file pages are dropped and re-read if ever touched), so
    // the resident set holds the packed copy, not both.
    auto pack = [&](kernels::weight_matrix& w, bool release) {
        const std::size_t bytes = kernels::packed_bytes(w);
        if (bytes == 0) return;
        m->packed_.push_back(std::make_unique_for_overwrite<std::byte[]>(bytes));
        kernels::pack_weights(w, m->packed_.back().get());
        w.packed = m->packed_.back().get();
        if (release) release_pages(w.data, w.n_out * w.row_bytes);
    };
    for (auto& l : m->layers_) {
        for (auto* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down, &l.ssm_qkv, &l.ssm_z, &l.ssm_beta, &l.ssm_alpha, &l.ssm_out,
                        &l.pl_gate, &l.pl_proj}) {
            if (w->data != nullptr) pack(*w, true);
        }
        for (auto& e : l.experts) {
            for (auto* w : {&e.gate, &e.up, &e.down}) pack(*w, true);
        }
    }
    pack(m->output_, !m->tied_);
    return m;
}

}  // namespace sluice::engine
