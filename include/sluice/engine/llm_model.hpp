// A decoder-only transformer loaded from GGUF: hyper-parameters plus views of the
// weights inside the file mapping (matrices are never dequantised in full; only the small
// 1-D norm and bias vectors are converted to float). Quantised matrices are also copied
// once into the integer GEMM's interleaved layout (kernels::pack_weights).
//
// Supported architectures: `llama` (Llama 2/3.x, Mistral, SmolLM2, TinyLlama: RMSNorm,
// SwiGLU, NORM rope, GQA, optional tied output), `qwen2` (+ q/k/v biases, NEOX rope),
// `qwen3` (+ per-head q/k RMSNorm, NEOX rope), `qwen3moe` (qwen3 attention, a mixture of
// SwiGLU experts as the FFN: see engine/moe_ffn.hpp), `gemma3` (embeddings scaled by
// sqrt(n_embd), per-head q/k RMSNorm, RMSNorm of the attention and FFN outputs, GELU (tanh)
// gating, sliding-window attention with its own rope base on all but every n-th layer),
// `qwen35` (Qwen 3.5 dense hybrid: gated-DeltaNet linear-attention layers -- see
// engine/delta_net.hpp; their per-sequence state lives in engine/recurrent_state.hpp --
// interleaved with full-attention layers whose query projection also yields a sigmoid
// output gate per head, per-head q/k RMSNorm, M-RoPE on n_rot of each head's dimensions).
// `gemma4` (gemma3's blocks, plus: attention shapes per layer -- KV heads, head size, rope
// dimensions and FFN width --, V RMS-normalised, V = K on layers without attn_v, unscaled
// attention, proportional rope from rope_freqs on full-attention layers, the last layers
// attending over an earlier layer's KV instead of their own, a per-layer embedding added
// after each block (see per_layer_input below) and a per-layer output scale).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/kernels/matmul.hpp"
#include "sluice/model/gguf_file.hpp"
#include "sluice/model/hparams.hpp"

namespace sluice::engine {

enum class architecture { llama, qwen2, qwen3, qwen3moe, gemma3, qwen35, gemma4 };
enum class ffn_activation { silu, gelu };  // the gate's activation: SwiGLU or GEGLU (tanh GELU)

// RoPE of a group of layers: pair i turns by pos * position_scale * freq_base^(-2i/n_rot) / freq_factors[i],
// over the first n_rot dims of each head.
struct rope_params {
    std::uint32_t n_rot = 0;
    float freq_base = 10000.0f;
    float position_scale = 1.0f;      // linear scaling (1 / rope.scaling.factor)
    std::vector<float> freq_factors;  // [n_rot/2]
    // M-RoPE (qwen35): pairs of the fourth position section, whose position is 0 for text
    // tokens (llama.cpp fills sections 1-3 with the token's position, the 4th with 0), so
    // they never turn. Empty: every pair turns.
    std::vector<bool> unrotated;      // [n_rot/2]
};
enum class rope_style { norm, neox };  // rotate pairs (2i, 2i+1) or (i, i + n_rot/2)

struct layer_weights {
    // The layer's shapes: the hyper-parameters' on every layer, except gemma4's (per layer).
    std::uint32_t n_head_kv = 0, head_dim_k = 0, head_dim_v = 0, n_ff = 0;
    // The layer whose cached keys and values this one attends over: itself, or for gemma4's
    // shared-KV layers an earlier layer of the same kind (no wk/wv then, and no KV of its own).
    std::uint32_t kv_source = 0;
    bool v_is_k = false;   // gemma4 without attn_v: V is the K projection (before k_norm and rope)
    float output_scale = 1.0f;  // gemma4: the layer's output (the residual stream) times this
    std::vector<float> attn_norm, ffn_norm;           // [n_embd]
    kernels::weight_matrix wq, wk, wv, wo;            // [n_head*hd x n_embd], [n_kv*hd x n_embd] x2, [n_embd x n_head*hd]
    std::vector<float> bq, bk, bv;                    // qwen2 biases (empty otherwise)
    std::vector<float> q_norm, k_norm;                // qwen3/gemma3 per-head norms [head_dim] (empty otherwise)
    std::vector<float> post_attn_norm, post_ffn_norm; // gemma3: RMSNorm of each block's output before the residual add [n_embd]
    bool sliding = false;                             // attends to the last sliding_window() positions, with rope_local()
    kernels::weight_matrix w_gate, w_up, w_down;      // [n_ff x n_embd] x2, [n_embd x n_ff] (dense FFN)
    // Mixture of experts (qwen3moe; empty otherwise): router [n_expert x n_embd] and each
    // expert's SwiGLU FFN, a slice of the 3-D ffn_{gate,up,down}_exps tensors:
    // gate/up [n_ff_exp x n_embd], down [n_embd x n_ff_exp].
    kernels::weight_matrix router;
    struct expert {
        kernels::weight_matrix gate, up, down;
    };
    std::vector<expert> experts;
    // qwen35 full-attention layers: wq is [n_head*2*hd x n_embd], per head hd query rows
    // then hd gate rows; the attention output is multiplied by sigmoid(gate).
    bool attn_gated = false;
    // qwen35 gated-DeltaNet layers (recurrent = true; wq..wo unused). Shapes with
    // conv_dim = 2*n_k_heads*head_k + n_v_heads*head_v, value_dim = n_v_heads*head_v
    // (engine/llm_model.hpp delta_net_params):
    bool recurrent = false;
    kernels::weight_matrix ssm_qkv;    // [conv_dim x n_embd] (attn_qkv): q, k, v before the convolution
    kernels::weight_matrix ssm_z;      // [value_dim x n_embd] (attn_gate): the output gate z
    kernels::weight_matrix ssm_beta;   // [n_v_heads x n_embd]: sigmoid -> write strength
    kernels::weight_matrix ssm_alpha;  // [n_v_heads x n_embd]: softplus(. + dt) * a -> log decay
    kernels::weight_matrix ssm_out;    // [n_embd x value_dim]
    std::vector<float> ssm_conv;       // [conv_dim x d_conv]: channel c's taps, oldest first
    std::vector<float> ssm_dt, ssm_a;  // [n_v_heads]: time-step bias, a = -exp(A_log)
    std::vector<float> ssm_norm;       // [head_v]: RMSNorm of each head's output
    // gemma4 per-layer embedding block (empty otherwise): inp_gate [n_pl x n_embd],
    // proj [n_embd x n_pl], post_norm [n_embd] (see per_layer_input).
    kernels::weight_matrix pl_gate, pl_proj;
    std::vector<float> pl_post_norm;
};

// Gated DeltaNet sizes (qwen35's ssm.* metadata).
struct delta_net_params {
    std::uint32_t d_conv = 0;     // causal convolution taps (ssm.conv_kernel)
    std::uint32_t n_k_heads = 0;  // query/key heads (ssm.group_count)
    std::uint32_t n_v_heads = 0;  // value heads, one state matrix each (ssm.time_step_rank)
    std::uint32_t head_k = 0;     // query/key head size (ssm.state_size)
    std::uint32_t head_v = 0;     // value head size (ssm.inner_size / n_v_heads)
    std::size_t key_dim() const noexcept { return std::size_t{n_k_heads} * head_k; }
    std::size_t value_dim() const noexcept { return std::size_t{n_v_heads} * head_v; }
    std::size_t conv_dim() const noexcept { return 2 * key_dim() + value_dim(); }
};

// gemma4's per-layer embeddings (n == 0: none). Before the first layer, each token gets an
// input per layer l [n]:
//   e = token_embd row of the token [n_layer*n] * sqrt(n)
//   p = model_proj [n_layer*n x n_embd] @ x0 / sqrt(n_embd)     (x0: the scaled token embedding)
//   in_l = (rmsnorm(p_l) * proj_norm + e_l) / sqrt(2)           (p_l, e_l: elements [l*n, (l+1)*n))
// and after layer l's FFN residual the stream x gains
//   x += rmsnorm(proj @ (gelu(gate @ x) * in_l)) * post_norm.
struct per_layer_input {
    std::uint32_t n = 0;
    kernels::weight_matrix token_embd;  // [n_vocab x n_layer*n] (rows looked up)
    kernels::weight_matrix model_proj;  // [n_layer*n x n_embd]
    std::vector<float> proj_norm;       // [n]
};

// Expert routing of a mixture-of-experts FFN, as llama.cpp's build_moe_ffn does it for the
// architecture: softmax over the router's logits, the n_used most probable experts,
// their probabilities divided by their sum when norm_weights, then times weights_scale
// when that is neither 0 nor 1.
struct moe_params {
    std::uint32_t n_expert = 0;  // 0: dense model
    std::uint32_t n_used = 0;
    std::uint32_t n_ff_exp = 0;  // rows of one expert's gate/up
    bool norm_weights = false;
    float weights_scale = 0.0f;
};

class llm_model {
public:
    // Validates every tensor (presence, shape, computable type) and throws sluice::error
    // naming the tensor (and its type) that cannot be used. `file` must outlive the model.
    static std::unique_ptr<llm_model> load(const model::gguf_file& file);

    const model::hyper_params& hparams() const noexcept { return hp_; }
    architecture arch() const noexcept { return arch_; }
    rope_style rope() const noexcept { return rope_; }
    std::uint32_t n_vocab() const noexcept { return n_vocab_; }
    const std::vector<layer_weights>& layers() const noexcept { return layers_; }
    const kernels::weight_matrix& token_embd() const noexcept { return token_embd_; }
    const kernels::weight_matrix& output() const noexcept { return output_; }  // token_embd when tied
    const std::vector<float>& output_norm() const noexcept { return output_norm_; }
    // The rope of full-attention layers, and of sliding-window layers (gemma3: its own base,
    // no scaling, as llama.cpp's rope.freq_base_swa; gemma4: also its own n_rot).
    const rope_params& rope_global() const noexcept { return rope_global_; }
    const rope_params& rope_local() const noexcept { return rope_local_; }
    const rope_params& rope_of(const layer_weights& l) const noexcept { return l.sliding ? rope_local_ : rope_global_; }
    // Positions a sliding layer's query sees: keys p0 with pos - p0 < sliding_window (itself included).
    std::uint32_t sliding_window() const noexcept { return sliding_window_; }
    float embedding_scale() const noexcept { return embd_scale_; }  // token embeddings are multiplied by it
    float attention_scale() const noexcept { return attn_scale_; }  // softmax(scale * q.k)
    float logit_softcap() const noexcept { return softcap_; }       // logits = c tanh(logits / c) when c > 0
    ffn_activation activation() const noexcept { return act_; }
    bool output_tied() const noexcept { return tied_; }
    const moe_params& moe() const noexcept { return moe_; }
    // qwen35: the DeltaNet sizes, and whether any layer is recurrent (such a model keeps a
    // recurrent_state per sequence besides its KV cache).
    const delta_net_params& delta_net() const noexcept { return dnet_; }
    bool has_recurrent_layers() const noexcept { return dnet_.n_v_heads > 0; }
    const per_layer_input& per_layer() const noexcept { return per_layer_; }
    bool v_norm() const noexcept { return v_norm_; }  // gemma4: V is RMS-normalised (no weight) before caching

private:
    model::hyper_params hp_;
    architecture arch_ = architecture::llama;
    rope_style rope_ = rope_style::norm;
    std::uint32_t n_vocab_ = 0;
    std::vector<layer_weights> layers_;
    kernels::weight_matrix token_embd_, output_;
    std::vector<float> output_norm_;
    rope_params rope_global_, rope_local_;
    std::uint32_t sliding_window_ = 0;
    float embd_scale_ = 1.0f, attn_scale_ = 1.0f, softcap_ = 0.0f;
    ffn_activation act_ = ffn_activation::silu;
    bool tied_ = false;
    moe_params moe_;
    delta_net_params dnet_;
    per_layer_input per_layer_;
    bool v_norm_ = false;
    // The quantised matrices (and the output, tied or not) in the GEMM's packed layout
    // (kernels::pack_weights); the weight_matrix views point here through `packed`.
    std::vector<std::unique_ptr<std::byte[]>> packed_;
};

}  // namespace sluice::engine
