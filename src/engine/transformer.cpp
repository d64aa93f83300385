#include "sluice/engine/transformer.hpp"

#include <algorithm>
#include <cmath>

#include "activations.hpp"
#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/f16_ops.hpp"
#include "sluice/kernels/quantize.hpp"
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

constexpr std::size_t k_silu_chunk = 1024;  // elements per pool task

}  // namespace

transformer::transformer(const llm_model& m, thread_pool& pool, std::size_t max_batch, matmul_policy policy)
    : m_(m), pool_(pool), max_batch_(max_batch), policy_(policy), moe_(m, max_batch) {
    const auto& hp = m.hparams();
    for (auto [table, params] : {std::pair{&rope_global_, &m.rope_global()}, std::pair{&rope_local_, &m.rope_local()}}) {
        table->params = params;
        table->theta_base.resize(hp.n_rot / 2);
        for (std::size_t i = 0; i < table->theta_base.size(); ++i) {
            table->theta_base[i] = std::pow(params->freq_base, -2.0f * static_cast<float>(i) / static_cast<float>(hp.n_rot)) /
                                   params->freq_factors[i];
        }
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
    const std::size_t n_ff_dense = m.moe().n_expert > 0 ? 0 : hp.n_ff;  // a MoE model's experts have their own scratch
    gate_.resize(max_batch * n_ff_dense);
    up_.resize(max_batch * n_ff_dense);
    tmp_.resize(max_batch * hp.n_embd);
    rows_.reserve(max_batch);
}

void transformer::forward(std::span<const token_id> tokens, kv_cache& cache, std::vector<float>& logits, bool all_logits) {
    const std::size_t n_vocab = m_.n_vocab();
    if (tokens.empty()) throw error(errc::invalid_argument, "forward: no tokens");
    if (cache.size() + tokens.size() > cache.n_ctx()) {
        throw error(errc::out_of_range, "context full: " + std::to_string(cache.size() + tokens.size()) +
                                            " tokens exceed the context size of " + std::to_string(cache.n_ctx()));
    }
    logits.resize(all_logits ? tokens.size() * n_vocab : n_vocab);
    for (std::size_t off = 0; off < tokens.size(); off += max_batch_) {
        const auto chunk = tokens.subspan(off, std::min(max_batch_, tokens.size() - off));
        const bool last_chunk = off + chunk.size() == tokens.size();
        const batch_sequence seq{chunk, cache.size(), cache.single_table(), all_logits ? chunk.size() : last_chunk ? 1u : 0u};
        forward_batch({&seq, 1}, cache, logits.data() + (all_logits ? off * n_vocab : 0));
        cache.advance(chunk.size());
    }
}

void transformer::check(std::span<const batch_sequence> seqs, const kv_cache& cache) const {
    const std::size_t n_vocab = m_.n_vocab();
    std::size_t n = 0;
    for (const auto& s : seqs) {
        n += s.tokens.size();
        if (s.tokens.empty() || s.n_logits > s.tokens.size()) throw error(errc::invalid_argument, "forward: bad batch entry");
        if (s.pos0 + s.tokens.size() > s.blocks.size() * cache.block_size()) {
            throw error(errc::out_of_range, "forward: positions up to " + std::to_string(s.pos0 + s.tokens.size()) +
                                                " exceed the sequence's " + std::to_string(s.blocks.size()) + " cache blocks");
        }
        for (const token_id t : s.tokens) {
            if (t < 0 || static_cast<std::size_t>(t) >= n_vocab) {
                throw error(errc::out_of_range, "token id " + std::to_string(t) + " is outside the vocabulary of " +
                                                    std::to_string(n_vocab));
            }
        }
        for (const auto b : s.blocks) {
            if (b >= cache.n_blocks()) throw error(errc::out_of_range, "forward: block " + std::to_string(b) + " is not in the cache");
        }
    }
    if (n == 0 || n > max_batch_) throw error(errc::invalid_argument, "forward: " + std::to_string(n) + " tokens in one batch");
}

void transformer::matmul(const kernels::weight_matrix& w, const float* x, std::size_t n, float* y) {
    if (policy_ == matmul_policy::batch_invariant) {
        kernels::matmul_rows(w, x, n, y, pool_);
    } else {
        kernels::matmul(w, x, n, y, pool_);
    }
}

// cos_sin[t] = {cos, sin} of each rotation angle at batch row t's position: the same for
// every layer of a kind and for queries and keys, so computed once per forward pass.
void transformer::prepare_rope() {
    const bool any_local = std::any_of(m_.layers().begin(), m_.layers().end(), [](const auto& l) { return l.sliding; });
    for (auto* table : {&rope_global_, &rope_local_}) {
        if (table == &rope_local_ && !any_local) break;
        const std::size_t half = table->theta_base.size();
        table->cos_sin.resize(rows_.size() * half);
        for (std::size_t t = 0; t < rows_.size(); ++t) {
            const float p = static_cast<float>(rows_[t].pos) * table->params->position_scale;
            for (std::size_t i = 0; i < half; ++i) {
                const float theta = p * table->theta_base[i];
                table->cos_sin[t * half + i] = {std::cos(theta), std::sin(theta)};
            }
        }
    }
}

void transformer::apply_rope(float* x, std::size_t n_heads, std::size_t t, bool local) const {
    const auto& hp = m_.hparams();
    const std::size_t hd = hp.head_dim_k, half = hp.n_rot / 2;
    const auto& cos_sin = (local ? rope_local_ : rope_global_).cos_sin;
    for (std::size_t i = 0; i < half; ++i) {
        const auto [c, s] = cos_sin[t * half + i];
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

void transformer::store_kv(std::size_t layer, std::size_t t, kv_cache& cache, const float* k, const float* v) {
    const auto& hp = m_.hparams();
    const std::size_t k_dim = std::size_t{hp.n_head_kv} * hp.head_dim_k, v_dim = std::size_t{hp.n_head_kv} * hp.head_dim_v;
    const std::size_t bs = cache.block_size(), pos = rows_[t].pos;
    const std::size_t block = rows_[t].seq->blocks[pos / bs], off = pos % bs;
    if (cache.precision() == kv_precision::f16) {
        kernels::fp32_to_fp16_row(k, cache.k(layer, block, off), k_dim);
        kernels::fp32_to_fp16_row(v, cache.v(layer, block, off), v_dim);
    } else {
        std::copy(k, k + k_dim, cache.k_f32(layer, block, off));
        std::copy(v, v + v_dim, cache.v_f32(layer, block, off));
    }
}

// Causal grouped-query attention of each batch row over its own sequence's positions
// [lo, pos] -- lo = 0, or pos + 1 - window on a sliding-window layer -- run by run of
// positions within one cache block: q_ [n x n_head*hd_k] -> attn_ [n x n_head*hd_v]
void transformer::attention(std::size_t layer, std::size_t n, kv_cache& cache) {
    const auto& hp = m_.hparams();
    const std::size_t n_head = hp.n_head, hd_k = hp.head_dim_k, hd_v = hp.head_dim_v;
    const std::size_t group = hp.n_head / hp.n_head_kv, bs = cache.block_size();
    const float scale = m_.attention_scale();
    const std::size_t window = m_.layers()[layer].sliding ? m_.sliding_window() : 0;
    const bool f16 = cache.precision() == kv_precision::f16;
    pool_.run(n * n_head, [&](std::size_t task) {
        const std::size_t t = task / n_head, h = task % n_head, g = h / group;
        const auto blocks = rows_[t].seq->blocks;
        const std::size_t end = rows_[t].pos + 1, lo = window > 0 && end > window ? end - window : 0, n_keys = end - lo;
        thread_local std::vector<float> scores;
        scores.resize(n_keys);
        const float* q = q_.data() + (t * n_head + h) * hd_k;
        // Calls fn(block, offset in block, run, index of the run's first key in scores) over [lo, end).
        auto for_runs = [&](auto&& fn) {
            for (std::size_t j0 = lo; j0 < end;) {
                const std::size_t off = j0 % bs, run = std::min(bs - off, end - j0);
                fn(blocks[j0 / bs], off, run, j0 - lo);
                j0 += run;
            }
        };
        // scores[j] = scale * q . k_j, then softmax over j, then out = sum_j p_j v_j.
        for_runs([&](std::size_t b, std::size_t off, std::size_t run, std::size_t s0) {
            if (f16) {
                kernels::f16_row_dots(run, hd_k, cache.k(layer, b, off) + g * hd_k, cache.k_stride(), q, scale, scores.data() + s0);
                return;
            }
            for (std::size_t j = 0; j < run; ++j) {
                const float* kj = cache.k_f32(layer, b, off + j) + g * hd_k;
                float dot = 0;
                for (std::size_t i = 0; i < hd_k; ++i) dot += kj[i] * q[i];
                scores[s0 + j] = dot * scale;
            }
        });
        const float max = *std::max_element(scores.begin(), scores.end());
        float sum = 0;
        for (std::size_t j = 0; j < n_keys; ++j) sum += (scores[j] = std::exp(scores[j] - max));
        const float inv = 1.0f / sum;
        for (std::size_t j = 0; j < n_keys; ++j) scores[j] *= inv;
        float* out = attn_.data() + (t * n_head + h) * hd_v;
        std::fill(out, out + hd_v, 0.0f);
        for_runs([&](std::size_t b, std::size_t off, std::size_t run, std::size_t s0) {
            if (f16) {
                kernels::f16_weighted_rows(run, hd_v, cache.v(layer, b, off) + g * hd_v, cache.v_stride(), scores.data() + s0, out);
                return;
            }
            for (std::size_t j = 0; j < run; ++j) {
                const float* vj = cache.v_f32(layer, b, off + j) + g * hd_v;
                for (std::size_t i = 0; i < hd_v; ++i) out[i] += scores[s0 + j] * vj[i];
            }
        });
    });
}

// gemma3: tmp_ rows = rmsnorm(tmp_ rows) * weight, before the residual add (no-op without a weight).
void transformer::post_norm(const std::vector<float>& weight, std::size_t n) {
    if (weight.empty()) return;
    const auto& hp = m_.hparams();
    for (std::size_t t = 0; t < n; ++t) rms_norm(&tmp_[t * hp.n_embd], weight.data(), &tmp_[t * hp.n_embd], hp.n_embd, hp.rms_eps);
}

// tmp_ [n x n_embd] = FFN(xn_): down(act(gate xn) * up xn) with act silu or gelu, or the
// mixture of such experts.
void transformer::feed_forward(const layer_weights& w, std::size_t n) {
    if (!w.experts.empty()) {
        moe_.forward(w, xn_.data(), n, tmp_.data(),
                     [this](const kernels::weight_matrix& wm, const float* x, std::size_t rows, float* y) { matmul(wm, x, rows, y); }, pool_);
        return;
    }
    const std::size_t n_ff = m_.hparams().n_ff;
    matmul(w.w_gate, xn_.data(), n, gate_.data());  // [n x n_ff]
    matmul(w.w_up, xn_.data(), n, up_.data());      // [n x n_ff]
    // n x n_ff exponentials: split across the pool (elementwise, so the split changes nothing).
    // GELU on llama.cpp's half-precision grid, except in exact mode (float activations throughout).
    const bool gelu = m_.activation() == ffn_activation::gelu, exact = kernels::exact_activations();
    pool_.run((n * n_ff + k_silu_chunk - 1) / k_silu_chunk, [&](std::size_t c) {
        const std::size_t end = std::min(n * n_ff, (c + 1) * k_silu_chunk);
        for (std::size_t i = c * k_silu_chunk; i < end; ++i) {
            const float g = gate_[i];
            gate_[i] = (!gelu ? silu(g) : exact ? gelu_tanh(g) : gelu_fp16(g)) * up_[i];
        }
    });
    matmul(w.w_down, gate_.data(), n, tmp_.data());  // [n x n_embd]
}

void transformer::forward_batch(std::span<const batch_sequence> seqs, kv_cache& cache, float* logits) {
    check(seqs, cache);
    const auto& hp = m_.hparams();
    const std::size_t n_embd = hp.n_embd;
    const std::size_t q_dim = std::size_t{hp.n_head} * hp.head_dim_k;
    const std::size_t k_dim = std::size_t{hp.n_head_kv} * hp.head_dim_k;
    const std::size_t v_dim = std::size_t{hp.n_head_kv} * hp.head_dim_v;
    rows_.clear();
    for (const auto& s : seqs) {
        for (std::size_t i = 0; i < s.tokens.size(); ++i) rows_.push_back({&s, s.pos0 + i});
    }
    const std::size_t n = rows_.size();
    prepare_rope();

    // x [n x n_embd] = embedding rows of the tokens
    const auto& emb = m_.token_embd();
    for (std::size_t t = 0; t < n; ++t) {
        const token_id id = rows_[t].seq->tokens[rows_[t].pos - rows_[t].seq->pos0];
        kernels::dequantize_row(emb.type, static_cast<const std::byte*>(emb.data) + static_cast<std::size_t>(id) * emb.row_bytes,
                                x_.data() + t * n_embd, n_embd);
        if (m_.embedding_scale() != 1.0f) {  // gemma3: sqrt(n_embd)
            for (std::size_t i = 0; i < n_embd; ++i) x_[t * n_embd + i] *= m_.embedding_scale();
        }
    }

    for (std::size_t l = 0; l < m_.layers().size(); ++l) {
        const auto& w = m_.layers()[l];
        // --- attention block ---
        for (std::size_t t = 0; t < n; ++t) rms_norm(&x_[t * n_embd], w.attn_norm.data(), &xn_[t * n_embd], n_embd, hp.rms_eps);
        matmul(w.wq, xn_.data(), n, q_.data());  // [n x q_dim]
        matmul(w.wk, xn_.data(), n, k_.data());  // [n x k_dim]
        matmul(w.wv, xn_.data(), n, v_.data());  // [n x v_dim]
        for (std::size_t t = 0; t < n; ++t) {
            float* q = &q_[t * q_dim];
            float* k = &k_[t * k_dim];
            float* v = &v_[t * v_dim];
            if (!w.bq.empty()) {
                for (std::size_t i = 0; i < q_dim; ++i) q[i] += w.bq[i];
                for (std::size_t i = 0; i < k_dim; ++i) k[i] += w.bk[i];
                for (std::size_t i = 0; i < v_dim; ++i) v[i] += w.bv[i];
            }
            if (!w.q_norm.empty()) {  // qwen3, gemma3: RMSNorm of every head before rope
                for (std::size_t h = 0; h < hp.n_head; ++h) rms_norm(q + h * hp.head_dim_k, w.q_norm.data(), q + h * hp.head_dim_k, hp.head_dim_k, hp.rms_eps);
                for (std::size_t h = 0; h < hp.n_head_kv; ++h) rms_norm(k + h * hp.head_dim_k, w.k_norm.data(), k + h * hp.head_dim_k, hp.head_dim_k, hp.rms_eps);
            }
            apply_rope(q, hp.n_head, t, w.sliding);
            apply_rope(k, hp.n_head_kv, t, w.sliding);
            store_kv(l, t, cache, k, v);
        }
        attention(l, n, cache);
        matmul(w.wo, attn_.data(), n, tmp_.data());  // [n x n_embd]
        post_norm(w.post_attn_norm, n);
        for (std::size_t i = 0; i < n * n_embd; ++i) x_[i] += tmp_[i];

        // --- feed-forward block ---
        for (std::size_t t = 0; t < n; ++t) rms_norm(&x_[t * n_embd], w.ffn_norm.data(), &xn_[t * n_embd], n_embd, hp.rms_eps);
        feed_forward(w, n);
        post_norm(w.post_ffn_norm, n);
        for (std::size_t i = 0; i < n * n_embd; ++i) x_[i] += tmp_[i];
    }

    // logits [rows x n_vocab] = output @ norm(x) for the trailing n_logits rows of each sequence
    std::size_t rows = 0, t0 = 0;
    for (const auto& s : seqs) {
        for (std::size_t t = t0 + s.tokens.size() - s.n_logits; t < t0 + s.tokens.size(); ++t) {
            rms_norm(&x_[t * n_embd], m_.output_norm().data(), &xn_[rows++ * n_embd], n_embd, hp.rms_eps);
        }
        t0 += s.tokens.size();
    }
    if (rows == 0) return;
    matmul(m_.output(), xn_.data(), rows, logits);
    if (const float cap = m_.logit_softcap(); cap > 0) {  // final logit soft-capping: cap * tanh(logits / cap)
        for (std::size_t i = 0; i < rows * m_.n_vocab(); ++i) logits[i] = cap * std::tanh(logits[i] * (1.0f / cap));
    }
}

}  // namespace sluice::engine
