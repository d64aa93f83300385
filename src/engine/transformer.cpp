#include "sluice/engine/transformer.hpp"

#include <algorithm>
#include <cmath>

#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/f16_ops.hpp"
#include "sluice/util/error.hpp"

namespace sluice::engine {
namespace {

// y = x / sqrt(mean(x^2) + eps) * w, over n values.
void rms_norm(const float* x, const float* w, float* y, std::size_t n, float eps) {
    double ss = 0;
    for (std::size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float scale = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace

transformer::transformer(const llm_model& m, thread_pool& pool, std::size_t max_batch)
    : m_(m), pool_(pool), max_batch_(max_batch) {
    const auto& hp = m.hparams();
    theta_base_.resize(hp.n_rot / 2);
    for (std::size_t i = 0; i < theta_base_.size(); ++i) {
        theta_base_[i] = std::pow(hp.rope_freq_base, -2.0f * static_cast<float>(i) / static_cast<float>(hp.n_rot)) /
                         m.rope_freq_factors()[i];
    }
    const std::size_t q_dim = std::size_t{hp.n_head} * hp.head_dim_k;
    const std::size_t kv_dim = std::size_t{hp.n_head_kv} * std::max(hp.head_dim_k, hp.head_dim_v);
    const std::size_t attn_dim = std::size_t{hp.n_head} * hp.head_dim_v;
    x_.resize(max_batch * hp.n_embd);
    xn_.resize(max_batch * std::max<std::size_t>(hp.n_embd, attn_dim));
    q_.resize(max_batch * q_dim);
    k_.resize(max_batch * kv_dim);
    v_.resize(max_batch * kv_dim);
    attn_.resize(max_batch * attn_dim);
    gate_.resize(max_batch * hp.n_ff);
    up_.resize(max_batch * hp.n_ff);
    tmp_.resize(max_batch * hp.n_embd);
}

void transformer::forward(std::span<const token_id> tokens, kv_cache& cache, std::vector<float>& logits, bool all_logits) {
    const std::size_t n_vocab = m_.n_vocab();
    if (tokens.empty()) throw error(errc::invalid_argument, "forward: no tokens");
    if (cache.size() + tokens.size() > cache.n_ctx()) {
        throw error(errc::out_of_range, "context full: " + std::to_string(cache.size() + tokens.size()) +
                                            " tokens exceed the context size of " + std::to_string(cache.n_ctx()));
    }
    for (const token_id t : tokens) {
        if (t < 0 || static_cast<std::size_t>(t) >= n_vocab) {
            throw error(errc::out_of_range, "token id " + std::to_string(t) + " is outside the vocabulary of " +
                                                std::to_string(n_vocab));
        }
    }
    logits.resize(all_logits ? tokens.size() * n_vocab : n_vocab);
    for (std::size_t off = 0; off < tokens.size(); off += max_batch_) {
        const auto chunk = tokens.subspan(off, std::min(max_batch_, tokens.size() - off));
        const bool last_chunk = off + chunk.size() == tokens.size();
        if (all_logits) {
            forward_chunk(chunk, cache, logits.data() + off * n_vocab, true);
        } else {
            forward_chunk(chunk, cache, last_chunk ? logits.data() : nullptr, false);
        }
    }
}

void transformer::apply_rope(float* x, std::size_t n_heads, std::size_t pos) const {
    const auto& hp = m_.hparams();
    const std::size_t hd = hp.head_dim_k, half = hp.n_rot / 2;
    const float p = static_cast<float>(pos) * m_.rope_position_scale();
    for (std::size_t i = 0; i < half; ++i) {
        const float theta = p * theta_base_[i];
        const float c = std::cos(theta), s = std::sin(theta);
        for (std::size_t h = 0; h < n_heads; ++h) {
            float* v = x + h * hd;
            // NORM rotates adjacent pairs; NEOX rotates element i with element i + n_rot/2.
            const std::size_t a = m_.rope() == rope_style::norm ? 2 * i : i;
            const std::size_t b = m_.rope() == rope_style::norm ? 2 * i + 1 : i + half;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
        }
    }
}

// Causal grouped-query attention for n new tokens starting at pos0, over the cache.
// q_ [n x n_head*hd_k] -> attn_ [n x n_head*hd_v]
void transformer::attention(std::size_t layer, std::size_t n, std::size_t pos0, kv_cache& cache) {
    const auto& hp = m_.hparams();
    const std::size_t n_head = hp.n_head, hd_k = hp.head_dim_k, hd_v = hp.head_dim_v;
    const std::size_t group = hp.n_head / hp.n_head_kv;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd_k));
    pool_.run(n * n_head, [&](std::size_t task) {
        const std::size_t t = task / n_head, h = task % n_head, g = h / group;
        const std::size_t n_keys = pos0 + t + 1;
        thread_local std::vector<float> scores;
        scores.resize(n_keys);
        const float* q = q_.data() + (t * n_head + h) * hd_k;
        // scores[j] = q . k_j / sqrt(hd_k), then softmax over j, then out = sum_j p_j v_j.
        const bool f16 = cache.precision() == kv_precision::f16;
        if (f16) {
            kernels::f16_row_dots(n_keys, hd_k, cache.k(layer, 0) + g * hd_k, cache.k_stride(), q, scale, scores.data());
        } else {
            for (std::size_t j = 0; j < n_keys; ++j) {
                const float* kj = cache.k_f32(layer, j) + g * hd_k;
                float dot = 0;
                for (std::size_t i = 0; i < hd_k; ++i) dot += kj[i] * q[i];
                scores[j] = dot * scale;
            }
        }
        const float max = *std::max_element(scores.begin(), scores.end());
        float sum = 0;
        for (std::size_t j = 0; j < n_keys; ++j) sum += (scores[j] = std::exp(scores[j] - max));
        const float inv = 1.0f / sum;
        for (std::size_t j = 0; j < n_keys; ++j) scores[j] *= inv;
        float* out = attn_.data() + (t * n_head + h) * hd_v;
        if (f16) {
            kernels::f16_weighted_rows(n_keys, hd_v, cache.v(layer, 0) + g * hd_v, cache.v_stride(), scores.data(), out);
        } else {
            std::fill(out, out + hd_v, 0.0f);
            for (std::size_t j = 0; j < n_keys; ++j) {
                const float* vj = cache.v_f32(layer, j) + g * hd_v;
                for (std::size_t i = 0; i < hd_v; ++i) out[i] += scores[j] * vj[i];
            }
        }
    });
}

void transformer::forward_chunk(std::span<const token_id> tokens, kv_cache& cache, float* logits, bool all_logits) {
    const auto& hp = m_.hparams();
    const std::size_t n = tokens.size(), n_embd = hp.n_embd, pos0 = cache.size();
    const std::size_t q_dim = std::size_t{hp.n_head} * hp.head_dim_k;
    const std::size_t k_dim = std::size_t{hp.n_head_kv} * hp.head_dim_k;
    const std::size_t v_dim = std::size_t{hp.n_head_kv} * hp.head_dim_v;
    const std::size_t n_ff = hp.n_ff;

    // x [n x n_embd] = embedding rows of the tokens
    const auto& emb = m_.token_embd();
    for (std::size_t t = 0; t < n; ++t) {
        kernels::dequantize_row(emb.type, static_cast<const std::byte*>(emb.data) + static_cast<std::size_t>(tokens[t]) * emb.row_bytes,
                                x_.data() + t * n_embd, n_embd);
    }

    for (std::size_t l = 0; l < m_.layers().size(); ++l) {
        const auto& w = m_.layers()[l];
        // --- attention block ---
        for (std::size_t t = 0; t < n; ++t) rms_norm(&x_[t * n_embd], w.attn_norm.data(), &xn_[t * n_embd], n_embd, hp.rms_eps);
        kernels::matmul(w.wq, xn_.data(), n, q_.data(), pool_);  // [n x q_dim]
        kernels::matmul(w.wk, xn_.data(), n, k_.data(), pool_);  // [n x k_dim]
        kernels::matmul(w.wv, xn_.data(), n, v_.data(), pool_);  // [n x v_dim]
        for (std::size_t t = 0; t < n; ++t) {
            float* q = &q_[t * q_dim];
            float* k = &k_[t * k_dim];
            float* v = &v_[t * v_dim];
            if (!w.bq.empty()) {
                for (std::size_t i = 0; i < q_dim; ++i) q[i] += w.bq[i];
                for (std::size_t i = 0; i < k_dim; ++i) k[i] += w.bk[i];
                for (std::size_t i = 0; i < v_dim; ++i) v[i] += w.bv[i];
            }
            if (!w.q_norm.empty()) {  // qwen3: RMSNorm of every head before rope
                for (std::size_t h = 0; h < hp.n_head; ++h) rms_norm(q + h * hp.head_dim_k, w.q_norm.data(), q + h * hp.head_dim_k, hp.head_dim_k, hp.rms_eps);
                for (std::size_t h = 0; h < hp.n_head_kv; ++h) rms_norm(k + h * hp.head_dim_k, w.k_norm.data(), k + h * hp.head_dim_k, hp.head_dim_k, hp.rms_eps);
            }
            apply_rope(q, hp.n_head, pos0 + t);
            apply_rope(k, hp.n_head_kv, pos0 + t);
            if (cache.precision() == kv_precision::f16) {
                kernels::fp32_to_fp16_row(k, cache.k(l, pos0 + t), k_dim);
                kernels::fp32_to_fp16_row(v, cache.v(l, pos0 + t), v_dim);
            } else {
                std::copy(k, k + k_dim, cache.k_f32(l, pos0 + t));
                std::copy(v, v + v_dim, cache.v_f32(l, pos0 + t));
            }
        }
        attention(l, n, pos0, cache);
        kernels::matmul(w.wo, attn_.data(), n, tmp_.data(), pool_);  // [n x n_embd]
        for (std::size_t i = 0; i < n * n_embd; ++i) x_[i] += tmp_[i];

        // --- feed-forward block: down(silu(gate(x)) * up(x)) ---
        for (std::size_t t = 0; t < n; ++t) rms_norm(&x_[t * n_embd], w.ffn_norm.data(), &xn_[t * n_embd], n_embd, hp.rms_eps);
        kernels::matmul(w.w_gate, xn_.data(), n, gate_.data(), pool_);  // [n x n_ff]
        kernels::matmul(w.w_up, xn_.data(), n, up_.data(), pool_);      // [n x n_ff]
        for (std::size_t i = 0; i < n * n_ff; ++i) gate_[i] = silu(gate_[i]) * up_[i];
        kernels::matmul(w.w_down, gate_.data(), n, tmp_.data(), pool_);  // [n x n_embd]
        for (std::size_t i = 0; i < n * n_embd; ++i) x_[i] += tmp_[i];
    }
    cache.advance(n);

    if (logits == nullptr) return;
    // logits [rows x n_vocab] = output @ norm(x) for the last token (or all of them)
    const std::size_t first = all_logits ? 0 : n - 1, rows = n - first;
    for (std::size_t t = first; t < n; ++t) {
        rms_norm(&x_[t * n_embd], m_.output_norm().data(), &xn_[(t - first) * n_embd], n_embd, hp.rms_eps);
    }
    kernels::matmul(m_.output(), xn_.data(), rows, logits, pool_);
}

}  // namespace sluice::engine
