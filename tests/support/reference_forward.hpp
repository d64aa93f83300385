// A naive forward pass, written for clarity rather than speed, as the oracle for the
// optimised transformer: one token at a time, single thread, scalar reference kernels
// (kernels::matvec_reference), exact softmax. It shares only the weight views
// (engine::llm_model) and the kernels' scalar references with the code under test.
// Keys and values are kept in float (compare with a kv_precision::f32 cache). Recurrent
// (gated-DeltaNet) layers keep their convolution inputs and state matrices S[key][value]
// as the textbook writes them, sums in double.
//
// gemma4's blocks, spelled out here as the architecture defines them: per-layer shapes,
// layers attending over an earlier layer's keys and values (kv_source), V = K without attn_v,
// V RMS-normalised, the per-layer embedding inputs and the term they add after each layer's
// FFN, and the per-layer output scale.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "sluice/engine/llm_model.hpp"
#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/matmul.hpp"

namespace sluice::test {

class reference_forward {
public:
    explicit reference_forward(const engine::llm_model& m) : m_(m) {
        k_cache_.resize(m.hparams().n_layer);
        v_cache_.resize(m.hparams().n_layer);
    }

    // Feeds one token at the next position; returns logits [n_vocab].
    std::vector<float> step(int token) {
        const auto& hp = m_.hparams();
        const std::size_t d = hp.n_embd, n_head = hp.n_head, pos = pos_++;

        // x [d] = embedding row of the token
        std::vector<float> x(d);
        const auto& e = m_.token_embd();
        kernels::dequantize_row(e.type, static_cast<const std::byte*>(e.data) + static_cast<std::size_t>(token) * e.row_bytes, x.data(), d);
        for (auto& v : x) v *= m_.embedding_scale();
        const std::vector<std::vector<float>> per_layer = per_layer_inputs(token, x);

        for (std::size_t l = 0; l < m_.layers().size(); ++l) {
            const auto& w = m_.layers()[l];
            const std::size_t hd = w.head_dim_k, hdv = w.head_dim_v, n_kv = w.n_head_kv;
            // attention: q [n_head*hd], k [n_kv*hd], v [n_kv*hdv]
            std::vector<float> xn = rms_norm(x, w.attn_norm, hp.rms_eps);
            if (w.recurrent) {
                add(x, delta_net(l, w, xn));
                add(x, gated_ffn(w.w_gate, w.w_up, w.w_down, rms_norm(x, w.ffn_norm, hp.rms_eps)));
                continue;
            }
            std::vector<float> q = matvec(w.wq, xn);
            std::vector<float> gate;  // qwen35: wq gives per head hd query values then hd gate values
            if (w.attn_gated) {
                std::vector<float> qq(n_head * hd);
                gate.resize(n_head * hd);
                for (std::size_t h = 0; h < n_head; ++h) {
                    for (std::size_t i = 0; i < hd; ++i) {
                        qq[h * hd + i] = q[2 * h * hd + i];
                        gate[h * hd + i] = q[(2 * h + 1) * hd + i];
                    }
                }
                q = qq;
            }
            add(q, w.bq);
            if (!w.q_norm.empty()) {
                for (std::size_t h = 0; h < n_head; ++h) head_norm(q, h * hd, hd, w.q_norm, hp.rms_eps);
            }
            rope(q, n_head, hd, pos, m_.rope_of(w));
            if (w.kv_source == l) {  // the layer's own keys and values (else: its source layer's, already cached)
                std::vector<float> k = matvec(w.wk, xn);
                std::vector<float> v = w.v_is_k ? k : matvec(w.wv, xn);
                add(k, w.bk);
                add(v, w.bv);
                if (!w.k_norm.empty()) {
                    for (std::size_t h = 0; h < n_kv; ++h) head_norm(k, h * hd, hd, w.k_norm, hp.rms_eps);
                }
                if (m_.v_norm()) {
                    const std::vector<float> ones(hdv, 1.0f);
                    for (std::size_t h = 0; h < n_kv; ++h) head_norm(v, h * hdv, hdv, ones, hp.rms_eps);
                }
                rope(k, n_kv, hd, pos, m_.rope_of(w));
                k_cache_[l].push_back(k);
                v_cache_[l].push_back(v);
            }
            const auto& keys = k_cache_[w.kv_source];
            const auto& values = v_cache_[w.kv_source];

            // out[h] = sum_j softmax_j(scale * q_h . k_j) v_j over keys j in [lo, pos] (lo > 0 only
            // on a sliding-window layer), with KV head g = h / (n_head / n_kv)
            const std::size_t window = w.sliding ? m_.sliding_window() : 0;
            const std::size_t lo = window > 0 && pos + 1 > window ? pos + 1 - window : 0;
            std::vector<float> att(n_head * hdv, 0.0f);
            for (std::size_t h = 0; h < n_head; ++h) {
                const std::size_t g = h / (n_head / n_kv);
                std::vector<double> s(pos + 1, 0.0);
                double max = -1e300;
                for (std::size_t j = lo; j <= pos; ++j) {
                    double dot = 0;
                    for (std::size_t i = 0; i < hd; ++i) dot += static_cast<double>(q[h * hd + i]) * keys[j][g * hd + i];
                    s[j] = dot * m_.attention_scale();
                    max = std::max(max, s[j]);
                }
                double z = 0;
                for (std::size_t j = lo; j <= pos; ++j) z += (s[j] = std::exp(s[j] - max));
                for (std::size_t j = lo; j <= pos; ++j) {
                    for (std::size_t i = 0; i < hdv; ++i) att[h * hdv + i] += static_cast<float>(s[j] / z) * values[j][g * hdv + i];
                }
            }
            for (std::size_t i = 0; i < gate.size(); ++i) att[i] *= 1.0f / (1.0f + std::exp(-gate[i]));  // output gate
            add(x, post_norm(matvec(w.wo, att), w.post_attn_norm, hp.rms_eps));

            // feed-forward: x += down(act(gate(xn)) * up(xn)), or a weighted sum of such experts
            xn = rms_norm(x, w.ffn_norm, hp.rms_eps);
            if (w.experts.empty()) {
                add(x, post_norm(gated_ffn(w.w_gate, w.w_up, w.w_down, xn), w.post_ffn_norm, hp.rms_eps));
            } else {
                add(x, mixture(w, xn));
            }

            // gemma4: x += rmsnorm(proj @ (gelu(gate @ x) * in_l)) * post_norm; x *= output scale
            if (!per_layer.empty()) {
                std::vector<float> g = matvec(w.pl_gate, x);
                for (std::size_t i = 0; i < g.size(); ++i) g[i] = gelu(g[i]) * per_layer[l][i];
                add(x, rms_norm(matvec(w.pl_proj, g), w.pl_post_norm, hp.rms_eps));
            }
            for (auto& v : x) v *= w.output_scale;
        }
        std::vector<float> logits = matvec(m_.output(), rms_norm(x, m_.output_norm(), hp.rms_eps));
        if (const float cap = m_.logit_softcap(); cap > 0) {
            for (auto& v : logits) v = cap * std::tanh(v / cap);
        }
        return logits;
    }

private:
    static std::vector<float> matvec(const kernels::weight_matrix& w, const std::vector<float>& x) {
        std::vector<float> y(w.n_out);
        kernels::matvec_reference(w, x.data(), y.data());
        return y;
    }

    // down(act(gate xn) * up xn): act = silu, or for GEGLU models the tanh GELU, in float
    // (the oracle is compared in exact mode, where the engine does not round it to half
    // precision as llama.cpp's CPU backend does).
    std::vector<float> gated_ffn(const kernels::weight_matrix& wg, const kernels::weight_matrix& wu, const kernels::weight_matrix& wd,
                                 const std::vector<float>& xn) const {
        std::vector<float> gate = matvec(wg, xn), up = matvec(wu, xn);
        for (std::size_t i = 0; i < gate.size(); ++i) {
            const float g = gate[i];
            float a = g / (1.0f + std::exp(-g));
            if (m_.activation() == engine::ffn_activation::gelu) a = gelu(g);
            gate[i] = a * up[i];
        }
        return matvec(wd, gate);
    }

    static float gelu(float g) {
        return 0.5f * g * (1.0f + std::tanh(0.79788456080286535587989211986876f * g * (1.0f + 0.044715f * g * g)));
    }

    // gemma4: each layer's input [n_pl] for `token`, whose scaled embedding is x0 (none
    // without per-layer embeddings): e = per-layer token row * sqrt(n_pl), p = model_proj @ x0
    // / sqrt(n_embd); in_l = (rmsnorm(p_l) * proj_norm + e_l) / sqrt(2) over each layer's slice.
    std::vector<std::vector<float>> per_layer_inputs(int token, const std::vector<float>& x0) const {
        const auto& pl = m_.per_layer();
        if (pl.n == 0) return {};
        const std::size_t n_layer = m_.layers().size();
        std::vector<float> e(n_layer * pl.n);
        kernels::dequantize_row(pl.token_embd.type,
                                static_cast<const std::byte*>(pl.token_embd.data) + static_cast<std::size_t>(token) * pl.token_embd.row_bytes,
                                e.data(), e.size());
        std::vector<float> p = matvec(pl.model_proj, x0);
        std::vector<std::vector<float>> out(n_layer);
        for (std::size_t l = 0; l < n_layer; ++l) {
            std::vector<float> p_l(p.begin() + static_cast<std::ptrdiff_t>(l * pl.n), p.begin() + static_cast<std::ptrdiff_t>((l + 1) * pl.n));
            for (auto& v : p_l) v /= std::sqrt(static_cast<float>(m_.hparams().n_embd));
            p_l = rms_norm(p_l, pl.proj_norm, m_.hparams().rms_eps);
            for (std::size_t i = 0; i < pl.n; ++i) {
                out[l].push_back((p_l[i] + e[l * pl.n + i] * std::sqrt(static_cast<float>(pl.n))) / std::sqrt(2.0f));
            }
        }
        return out;
    }

    static std::vector<float> post_norm(std::vector<float> y, const std::vector<float>& w, float eps) {
        return w.empty() ? y : rms_norm(y, w, eps);
    }

    // Mixture of experts: p = softmax(router xn); the n_used most probable experts, their
    // probabilities renormalised to sum 1 (and scaled) as the model says; sum of w_e * expert_e(xn).
    std::vector<float> mixture(const engine::layer_weights& w, const std::vector<float>& xn) const {
        const auto& moe = m_.moe();
        const std::vector<float> logits = matvec(w.router, xn);
        std::vector<double> p(logits.size());
        const double max = *std::max_element(logits.begin(), logits.end());
        double z = 0;
        for (std::size_t e = 0; e < p.size(); ++e) z += (p[e] = std::exp(logits[e] - max));
        std::vector<std::size_t> order(p.size());
        for (std::size_t e = 0; e < order.size(); ++e) order[e] = e;
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
        double chosen = 0;
        for (std::size_t s = 0; s < moe.n_used; ++s) chosen += p[order[s]] / z;
        std::vector<float> out(xn.size(), 0.0f);
        for (std::size_t s = 0; s < moe.n_used; ++s) {
            double weight = p[order[s]] / z;
            if (moe.norm_weights) weight /= chosen;
            if (moe.weights_scale != 0.0f) weight *= moe.weights_scale;
            const auto& ex = w.experts[order[s]];
            const std::vector<float> y = gated_ffn(ex.gate, ex.up, ex.down, xn);
            for (std::size_t i = 0; i < out.size(); ++i) out[i] += static_cast<float>(weight) * y[i];
        }
        return out;
    }

    // Gated DeltaNet of layer l for this position (llama.cpp's qwen35 linear attention):
    // mixed = W_qkv xn, convolved causally over the last d_conv positions per channel, silu;
    // q, k L2-normalised per head; per value head h (key head h mod n_k_heads), with
    // decay a = exp(softplus(alpha_h + dt_h) * A_h) and strength b = sigmoid(beta_h):
    // S = a S;  S += k (b (v - S^T k))^T;  o = S^T q / sqrt(head_v);
    // o_h = rmsnorm(o_h) * norm * silu(z_h); returns W_out o.
    std::vector<float> delta_net(std::size_t l, const engine::layer_weights& w, const std::vector<float>& xn) {
        const auto& d = m_.delta_net();
        const float eps = m_.hparams().rms_eps;
        const std::size_t C = d.conv_dim(), K = d.d_conv, Sk = d.head_k, Sv = d.head_v, Hv = d.n_v_heads;
        if (conv_hist_.size() <= l) conv_hist_.resize(l + 1), states_.resize(l + 1);
        auto& hist = conv_hist_[l];  // past inputs, oldest first
        auto& S = states_[l];        // [Hv][Sk][Sv]
        if (hist.empty()) hist.assign(K - 1, std::vector<float>(C, 0.0f));
        if (S.empty()) S.assign(Hv * Sk * Sv, 0.0);
        const std::vector<float> mixed = matvec(w.ssm_qkv, xn), z = matvec(w.ssm_z, xn);
        const std::vector<float> beta = matvec(w.ssm_beta, xn), alpha = matvec(w.ssm_alpha, xn);
        std::vector<float> c(C);
        for (std::size_t ch = 0; ch < C; ++ch) {
            double sum = 0;
            for (std::size_t i = 0; i + 1 < K; ++i) sum += static_cast<double>(hist[i][ch]) * w.ssm_conv[ch * K + i];
            sum += static_cast<double>(mixed[ch]) * w.ssm_conv[ch * K + K - 1];
            c[ch] = static_cast<float>(sum / (1.0 + std::exp(-sum)));
        }
        if (K > 1) {
            hist.erase(hist.begin());
            hist.push_back(mixed);
        }
        for (std::size_t h = 0; h < 2 * d.n_k_heads; ++h) {  // q heads then k heads: unit length
            double ss = 0;
            for (std::size_t i = 0; i < Sk; ++i) ss += static_cast<double>(c[h * Sk + i]) * c[h * Sk + i];
            const double inv = 1.0 / std::sqrt(ss + eps);  // llama.cpp: 1/sqrt(sum + eps) up to rounding
            for (std::size_t i = 0; i < Sk; ++i) c[h * Sk + i] = static_cast<float>(c[h * Sk + i] * inv);
        }
        std::vector<float> o(Hv * Sv);
        for (std::size_t h = 0; h < Hv; ++h) {
            const float* q = &c[(h % d.n_k_heads) * Sk];
            const float* k = &c[d.key_dim() + (h % d.n_k_heads) * Sk];
            const float* v = &c[2 * d.key_dim() + h * Sv];
            const double x = alpha[h] + w.ssm_dt[h];
            const double a = std::exp((x > 20 ? x : std::log1p(std::exp(x))) * w.ssm_a[h]);
            const double b = 1.0 / (1.0 + std::exp(-static_cast<double>(beta[h])));
            double* Sh = &S[h * Sk * Sv];
            for (std::size_t i = 0; i < Sk * Sv; ++i) Sh[i] *= a;
            for (std::size_t j = 0; j < Sv; ++j) {
                double sk = 0;
                for (std::size_t i = 0; i < Sk; ++i) sk += Sh[i * Sv + j] * k[i];
                const double delta = b * (v[j] - sk);
                for (std::size_t i = 0; i < Sk; ++i) Sh[i * Sv + j] += k[i] * delta;
            }
            std::vector<float> oh(Sv);
            for (std::size_t j = 0; j < Sv; ++j) {
                double sq = 0;
                for (std::size_t i = 0; i < Sk; ++i) sq += Sh[i * Sv + j] * q[i];
                oh[j] = static_cast<float>(sq / std::sqrt(static_cast<double>(Sv)));
            }
            oh = rms_norm(oh, w.ssm_norm, eps);
            for (std::size_t j = 0; j < Sv; ++j) {
                const float zz = z[h * Sv + j];
                o[h * Sv + j] = oh[j] * zz / (1.0f + std::exp(-zz));
            }
        }
        return matvec(w.ssm_out, o);
    }

    static void add(std::vector<float>& a, const std::vector<float>& b) {
        for (std::size_t i = 0; i < b.size(); ++i) a[i] += b[i];
    }

    static std::vector<float> rms_norm(const std::vector<float>& x, const std::vector<float>& w, float eps) {
        double ss = 0;
        for (float v : x) ss += static_cast<double>(v) * v;
        const float scale = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(x.size())) + eps);
        std::vector<float> y(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w[i];
        return y;
    }

    static void head_norm(std::vector<float>& v, std::size_t off, std::size_t n, const std::vector<float>& w, float eps) {
        std::vector<float> part(v.begin() + static_cast<std::ptrdiff_t>(off), v.begin() + static_cast<std::ptrdiff_t>(off + n));
        part = rms_norm(part, w, eps);
        std::copy(part.begin(), part.end(), v.begin() + static_cast<std::ptrdiff_t>(off));
    }

    // Rotates the first n_rot dims of every head of size hd: NORM pairs (2i, 2i+1), NEOX pairs
    // (i, i + n_rot/2), by angle pos * position_scale * base^(-2i/n_rot) / freq_factor_i (the
    // layer's rope; gemma4's proportional rope: factors of 1e30 on the pairs left unturned).
    void rope(std::vector<float>& v, std::size_t n_heads, std::size_t hd, std::size_t pos, const engine::rope_params& r) const {
        const std::size_t half = r.n_rot / 2;
        for (std::size_t h = 0; h < n_heads; ++h) {
            float* x = v.data() + h * hd;
            for (std::size_t i = 0; i < half; ++i) {
                if (!r.unrotated.empty() && r.unrotated[i]) continue;  // M-RoPE's 4th section: position 0 for text
                const double theta = static_cast<double>(pos) * r.position_scale *
                                     std::pow(static_cast<double>(r.freq_base), -2.0 * static_cast<double>(i) / r.n_rot) /
                                     r.freq_factors[i];
                const std::size_t a = m_.rope() == engine::rope_style::norm ? 2 * i : i;
                const std::size_t b = m_.rope() == engine::rope_style::norm ? 2 * i + 1 : i + half;
                const double x0 = x[a], x1 = x[b];
                x[a] = static_cast<float>(x0 * std::cos(theta) - x1 * std::sin(theta));
                x[b] = static_cast<float>(x0 * std::sin(theta) + x1 * std::cos(theta));
            }
        }
    }

    const engine::llm_model& m_;
    std::size_t pos_ = 0;
    std::vector<std::vector<std::vector<float>>> k_cache_, v_cache_;  // [layer][pos][dim]
    std::vector<std::vector<std::vector<float>>> conv_hist_;           // [layer][d_conv - 1][conv_dim]
    std::vector<std::vector<double>> states_;                          // [layer][Hv x Sk x Sv]
};

}  // namespace sluice::test
