#include "sluice/engine/transformer.hpp"

#include <algorithm>
#include <cmath>

#include "activations.hpp"
#include "rms_norm.hpp"
#include "sluice/kernels/attention.hpp"
#include "sluice/kernels/dequantize.hpp"
#include "sluice/kernels/f16_ops.hpp"
#include "sluice/kernels/quantize.hpp"
#include "sluice/kernels/swiglu.hpp"
#include "sluice/util/error.hpp"

namespace sluice::engine {
namespace {

constexpr std::size_t k_silu_chunk = 1024;  // elements per pool task
constexpr std::size_t k_serial_rows = 4;     // a step with at most this many rows does the per-row work without the pool
constexpr std::size_t k_attn_rows = 16;     // batch rows (consecutive positions of one sequence) per attention task

}  // namespace

transformer::transformer(const llm_model& m, thread_pool& pool, std::size_t max_batch, matmul_policy policy)
    : m_(m),
      pool_(pool),
      max_batch_(max_batch),
      policy_(policy),
      ggml_arith_(m.arch() == architecture::gemma4),
      moe_(m, max_batch),
      dnet_(m, max_batch),
      per_layer_(m, max_batch) {
    const auto& hp = m.hparams();
    for (auto [table, params] : {std::pair{&rope_global_, &m.rope_global()}, std::pair{&rope_local_, &m.rope_local()}}) {
        table->params = params;
        table->theta_base.resize(params->n_rot / 2);
        for (std::size_t i = 0; i < table->theta_base.size(); ++i) {
            table->theta_base[i] = std::pow(params->freq_base, -2.0f * static_cast<float>(i) / static_cast<float>(params->n_rot)) /
                                   params->freq_factors[i];
            if (!params->unrotated.empty() && params->unrotated[i]) table->theta_base[i] = 0.0f;  // M-RoPE's 4th section: cos 1, sin 0
        }
    }
    // Scratch for the widest layer (gemma4's layers differ in head size, KV heads and FFN width).
    std::size_t q_dim = 0, kv_dim = 0, attn_dim = 0, n_ff = 0;
    for (const auto& l : m.layers()) {
        q_dim = std::max(q_dim, std::size_t{hp.n_head} * l.head_dim_k);
        kv_dim = std::max(kv_dim, std::size_t{l.n_head_kv} * std::max(l.head_dim_k, l.head_dim_v));
        attn_dim = std::max(attn_dim, std::size_t{hp.n_head} * l.head_dim_v);
        n_ff = std::max(n_ff, std::size_t{l.n_ff});
    }
    x_.resize(max_batch * hp.n_embd);
    xn_.resize(max_batch * std::max<std::size_t>(hp.n_embd, attn_dim));
    q_.resize(max_batch * q_dim);
    k_.resize(max_batch * kv_dim);
    v_.resize(max_batch * kv_dim);
    attn_.resize(max_batch * attn_dim);
    const std::size_t n_ff_dense = m.moe().n_expert > 0 ? 0 : n_ff;  // a MoE model's experts have their own scratch
    gate_.resize(max_batch * n_ff_dense);
    up_.resize(max_batch * n_ff_dense);
    tmp_.resize(max_batch * hp.n_embd);
    const bool gated = std::any_of(m.layers().begin(), m.layers().end(), [](const auto& l) { return l.attn_gated; });
    qg_.resize(gated ? max_batch * 2 * q_dim : 0);
    attn_gate_.resize(gated ? max_batch * q_dim : 0);
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
    const std::size_t step = std::min(max_batch_, cache.max_chunk());  // a sliding ring holds the window behind one pass
    for (std::size_t off = 0; off < tokens.size(); off += step) {
        const auto chunk = tokens.subspan(off, std::min(step, tokens.size() - off));
        const bool last_chunk = off + chunk.size() == tokens.size();
        const batch_sequence seq{chunk, cache.size(), cache.single_table(), all_logits ? chunk.size() : last_chunk ? 1u : 0u, 0,
                                 cache.single_swa_table()};
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
        if (cache.has_sliding_pool()) {
            const bool fits = cache.ring() ? s.swa_blocks.size() == 1 && s.tokens.size() <= cache.max_chunk()
                                           : s.pos0 + s.tokens.size() <= s.swa_blocks.size() * cache.block_size();
            if (!fits) throw error(errc::out_of_range, "forward: the sliding-window table does not cover the batch entry");
        }
        for (const token_id t : s.tokens) {
            if (t < 0 || static_cast<std::size_t>(t) >= n_vocab) {
                throw error(errc::out_of_range, "token id " + std::to_string(t) + " is outside the vocabulary of " +
                                                    std::to_string(n_vocab));
            }
        }
        if (m_.has_recurrent_layers() && s.state_slot >= cache.state().n_slots()) {
            throw error(errc::out_of_range, "forward: state slot " + std::to_string(s.state_slot) + " is not in the cache");
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
            if (ggml_arith_) {  // llama.cpp's chain: theta_i = p * scale^i by repeated products, then / freq_factor_i
                const float theta_scale = std::pow(table->params->freq_base, -2.0f / static_cast<float>(table->params->n_rot));
                float theta = p;
                for (std::size_t i = 0; i < half; ++i) {
                    const float angle = theta / table->params->freq_factors[i];
                    table->cos_sin[t * half + i] = {std::cos(angle), std::sin(angle)};
                    theta *= theta_scale;
                }
                continue;
            }
            for (std::size_t i = 0; i < half; ++i) {
                const float theta = p * table->theta_base[i];
                table->cos_sin[t * half + i] = {std::cos(theta), std::sin(theta)};
            }
        }
    }
}

void transformer::apply_rope(float* x, std::size_t n_heads, std::size_t hd, std::size_t t, bool local) const {
    const auto& table = local ? rope_local_ : rope_global_;
    const std::size_t half = table.theta_base.size();
    const auto& cos_sin = table.cos_sin;
    for (std::size_t i = 0; i < half; ++i) {
        const auto [c, s] = cos_sin[t * half + i];
        for (std::size_t h = 0; h < n_heads; ++h) {
            float* v = x + h * hd;
            // NORM rotates adjacent pairs; NEOX rotates element i with element i + n_rot/2.
            const std::size_t a = m_.rope() == rope_style::norm ? 2 * i : i;
            const std::size_t b = m_.rope() == rope_style::norm ? 2 * i + 1 : i + half;
            const float x0 = v[a], x1 = v[b];
            if (ggml_arith_) {  // as ggml's rope compiles (-march=native: the first product fused)
                v[a] = std::fma(x0, c, -(x1 * s));
                v[b] = std::fma(x0, s, x1 * c);
                continue;
            }
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
        }
    }
}

void transformer::store_kv(std::size_t layer, std::size_t t, kv_cache& cache, const float* k, const float* v) {
    const auto& w = m_.layers()[layer];
    const std::size_t k_dim = std::size_t{w.n_head_kv} * w.head_dim_k, v_dim = std::size_t{w.n_head_kv} * w.head_dim_v;
    const auto [block, off] = cache.locate(layer, rows_[t].seq->blocks, rows_[t].seq->swa_blocks, rows_[t].pos);
    if (cache.precision() == kv_precision::f16) {
        kernels::fp32_to_fp16_row(k, cache.k(layer, block, off), k_dim);
        kernels::fp32_to_fp16_row(v, cache.v(layer, block, off), v_dim);
    } else {
        std::copy(k, k + k_dim, cache.k_f32(layer, block, off));
        std::copy(v, v + v_dim, cache.v_f32(layer, block, off));
    }
}

// Causal grouped-query attention of each batch row over its own sequence's positions
// [lo, pos] -- lo = 0, or pos + 1 - window on a sliding-window layer: q_ [n x n_head*hd_k]
// -> attn_ [n x n_head*hd_v]. One task per (run of up to k_attn_rows consecutive rows of one
// sequence, KV head): it converts each key tile of that KV head to float once and runs it
// against the run's query vectors of every head of the group (kernels/attention.hpp); a
// shared-KV layer reads its source layer's rows (kv_cache maps them). A
// query's arithmetic is the same online-softmax chain over the same fixed tiles whatever
// else the task holds, so decode, prefill and the scheduler's mixed steps agree bit for bit.
void transformer::attention(std::size_t layer, std::size_t n, kv_cache& cache) {
    // gemma4 (ggml_arith_): llama.cpp's own flash-attention arithmetic, half-precision
    // accumulator included, except in exact mode.
    if (ggml_arith_ && cache.precision() == kv_precision::f16 && !kernels::exact_activations()) {
        attention_f16_sequential(layer, n, cache);
        return;
    }
    constexpr std::size_t T = kernels::k_attn_tile;
    const auto& w = m_.layers()[layer];
    const std::size_t n_head = m_.hparams().n_head, n_kv = w.n_head_kv, hd_k = w.head_dim_k, hd_v = w.head_dim_v;
    const std::size_t group = n_head / n_kv;
    const float scale = m_.attention_scale();
    const std::size_t window = w.sliding ? m_.sliding_window() : 0;
    const bool f16 = cache.precision() == kv_precision::f16;
    attn_runs_.clear();
    for (std::size_t t0 = 0; t0 < n;) {
        std::size_t t1 = t0 + 1;
        while (t1 < n && t1 - t0 < k_attn_rows && rows_[t1].seq == rows_[t0].seq && rows_[t1].pos == rows_[t1 - 1].pos + 1) ++t1;
        attn_runs_.emplace_back(t0, t1);
        t0 = t1;
    }
    auto key_lo = [&](std::size_t end) { return window > 0 && end > window ? end - window : 0; };
    // Few runs (decode): split each group's heads over more tasks so both threads work;
    // a query's arithmetic does not depend on which task holds it.
    std::size_t parts = 1;
    while (parts < group && attn_runs_.size() * n_kv * parts < 2 * pool_.size()) ++parts;
    const std::size_t per_part = (group + parts - 1) / parts;
    pool_.run(attn_runs_.size() * n_kv * parts, [&](std::size_t task) {
        const auto [t0, t1] = attn_runs_[task / (n_kv * parts)];
        const std::size_t g = task / parts % n_kv, h0 = g * group + task % parts * per_part;
        const std::size_t h1 = std::min((g + 1) * group, h0 + per_part);
        if (h0 >= h1) return;  // a rounded-up split's empty last part
        thread_local std::vector<kernels::attn_query> qs;
        thread_local std::vector<float> accs, kbuf, vt;
        qs.resize((t1 - t0) * (h1 - h0));
        accs.resize(qs.size() * hd_v);
        kbuf.resize(T * hd_k);
        vt.resize(T * hd_v);
        for (std::size_t t = t0, a = 0; t < t1; ++t) {
            for (std::size_t h = h0; h < h1; ++h, ++a) {
                auto& q = qs[a];
                q.q = q_.data() + (t * n_head + h) * hd_k;
                q.acc = accs.data() + a * hd_v;
                q.end = static_cast<std::uint32_t>(rows_[t].pos + 1);
                q.lo = static_cast<std::uint32_t>(key_lo(q.end));
                kernels::attn_begin(q, hd_v);
            }
        }
        const batch_sequence& seq = *rows_[t0].seq;
        const std::size_t lo = key_lo(rows_[t0].pos + 1), end = rows_[t1 - 1].pos + 1;
        const kernels::attn_tile tile{kbuf.data(), vt.data(), 0, hd_k, hd_v, scale};
        for (std::size_t j0 = lo / T * T; j0 < end; j0 += T) {
            const std::size_t c0 = std::max(lo, j0) - j0, c1 = std::min(end - j0, T);
            if (f16) {
                const std::uint16_t* k_rows[T];
                const std::uint16_t* v_rows[T];
                for (std::size_t c = c0; c < c1; ++c) {
                    const auto [b, o] = cache.locate(layer, seq.blocks, seq.swa_blocks, j0 + c);
                    k_rows[c] = cache.k(layer, b, o) + g * hd_k;
                    v_rows[c] = cache.v(layer, b, o) + g * hd_v;
                }
                kernels::attn_load_tile_f16(k_rows, v_rows, c0, c1, hd_k, hd_v, kbuf.data(), vt.data());
            } else {
                const float* k_rows[T];
                const float* v_rows[T];
                for (std::size_t c = c0; c < c1; ++c) {
                    const auto [b, o] = cache.locate(layer, seq.blocks, seq.swa_blocks, j0 + c);
                    k_rows[c] = cache.k_f32(layer, b, o) + g * hd_k;
                    v_rows[c] = cache.v_f32(layer, b, o) + g * hd_v;
                }
                kernels::attn_load_tile_f32(k_rows, v_rows, c0, c1, hd_k, hd_v, kbuf.data(), vt.data());
            }
            auto at = tile;
            at.j0 = j0;
            kernels::attn_tile_update(at, qs.data(), qs.size());
        }
        for (std::size_t t = t0, a = 0; t < t1; ++t) {
            for (std::size_t h = h0; h < h1; ++h, ++a) {
                kernels::attn_finish(qs[a], hd_v, attn_.data() + (t * n_head + h) * hd_v);
            }
        }
    });
}

// attn_ [n x n_head*hd_v] as llama.cpp's one-chunk CPU flash attention computes it
// (kernels::attn_f16_sequential), one task per (batch row, head), keys [lo, pos] in order.
void transformer::attention_f16_sequential(std::size_t layer, std::size_t n, kv_cache& cache) {
    const auto& w = m_.layers()[layer];
    const std::size_t n_head = m_.hparams().n_head, hd_k = w.head_dim_k, hd_v = w.head_dim_v;
    const std::size_t group = n_head / w.n_head_kv;
    const std::size_t window = w.sliding ? m_.sliding_window() : 0;
    pool_.run(n * n_head, [&](std::size_t task) {
        const std::size_t t = task / n_head, h = task % n_head, g = h / group;
        const std::size_t end = rows_[t].pos + 1, lo = window > 0 && end > window ? end - window : 0;
        const batch_sequence& seq = *rows_[t].seq;
        thread_local std::vector<const std::uint16_t*> k_rows, v_rows;
        k_rows.clear();
        v_rows.clear();
        for (std::size_t p = lo; p < end; ++p) {
            const auto [b, o] = cache.locate(layer, seq.blocks, seq.swa_blocks, p);
            k_rows.push_back(cache.k(layer, b, o) + g * hd_k);
            v_rows.push_back(cache.v(layer, b, o) + g * hd_v);
        }
        kernels::attn_f16_sequential(q_.data() + (t * n_head + h) * hd_k, k_rows.data(), v_rows.data(), k_rows.size(), hd_k, hd_v,
                                     m_.attention_scale(), attn_.data() + (t * n_head + h) * hd_v);
    });
}

// Batch row t: tmp = rmsnorm(tmp) * post_weight (gemma3; skipped without one), x += tmp,
// then (when `norm`) xn = rmsnorm(x) * norm_weight.
void transformer::residual_then_norm(const std::vector<float>& post_weight, const std::vector<float>& norm_weight, std::size_t t, bool norm) {
    const auto& hp = m_.hparams();
    const std::size_t n_embd = hp.n_embd;
    float* tmp = &tmp_[t * n_embd];
    float* x = &x_[t * n_embd];
    if (!post_weight.empty()) rms_norm(tmp, post_weight.data(), tmp, n_embd, hp.rms_eps);
    for (std::size_t i = 0; i < n_embd; ++i) x[i] += tmp[i];
    if (norm) rms_norm(x, norm_weight.data(), &xn_[t * n_embd], n_embd, hp.rms_eps);
}

// fn(t) for every batch row t, across the pool in runs of rows (a decode step's few rows
// stay on this thread: cheaper than a pool round trip).
void transformer::for_rows(std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (n <= k_serial_rows) {
        for (std::size_t t = 0; t < n; ++t) fn(t);
        return;
    }
    const std::size_t per_task = std::max<std::size_t>(1, n / (pool_.size() * 8));
    pool_.run((n + per_task - 1) / per_task, [&](std::size_t task) {
        for (std::size_t t = task * per_task; t < std::min(n, (task + 1) * per_task); ++t) fn(t);
    });
}

// tmp_ [n x n_embd] = FFN(xn_): down(act(gate xn) * up xn) with act silu or gelu, or the
// mixture of such experts.
void transformer::feed_forward(const layer_weights& w, std::size_t n) {
    if (!w.experts.empty()) {
        moe_.forward(w, xn_.data(), n, tmp_.data(),
                     [this](const kernels::weight_matrix& wm, const float* x, std::size_t rows, float* y) { matmul(wm, x, rows, y); }, pool_);
        return;
    }
    const std::size_t n_ff = w.n_ff;
    const kernels::matmul_job gate_up[] = {{&w.w_gate, gate_.data()}, {&w.w_up, up_.data()}};  // [n x n_ff] each
    kernels::matmul_many(gate_up, xn_.data(), n, policy_ == matmul_policy::batch_invariant, pool_);
    // n x n_ff exponentials: split across the pool (elementwise, so the split changes nothing).
    // GELU on llama.cpp's half-precision grid, except in exact mode (float activations throughout).
    const bool gelu = m_.activation() == ffn_activation::gelu, exact = kernels::exact_activations();
    pool_.run((n * n_ff + k_silu_chunk - 1) / k_silu_chunk, [&](std::size_t c) {
        const std::size_t end = std::min(n * n_ff, (c + 1) * k_silu_chunk);
        if (!gelu) {
            kernels::swiglu(&gate_[c * k_silu_chunk], &up_[c * k_silu_chunk], &gate_[c * k_silu_chunk], end - c * k_silu_chunk);
            return;
        }
        for (std::size_t i = c * k_silu_chunk; i < end; ++i) {
            const float g = gate_[i];
            gate_[i] = (exact ? gelu_tanh(g) : gelu_fp16(g)) * up_[i];
        }
    });
    matmul(w.w_down, gate_.data(), n, tmp_.data());  // [n x n_embd]
}

// q_ [n x n_head*hd_k] = wq @ xn_ (with the layer's bias, head norms and rope); on a layer
// that owns its KV also k [n x n_kv*hd_k] and v [n x n_kv*hd_v] likewise, written into the
// cache. gemma4: V is the raw K projection on layers without attn_v, and RMS-normalised
// (no weight, no rope); a shared-KV layer computes only its queries. qwen35's gated layers:
// wq yields each head's query and then its output gate, split into q_ and attn_gate_.
void transformer::qkv(std::size_t l, std::size_t n, kv_cache& cache) {
    const auto& hp = m_.hparams();
    const auto& w = m_.layers()[l];
    const bool owns_kv = w.kv_source == l;
    const std::size_t n_head = hp.n_head, n_kv = w.n_head_kv, hd = w.head_dim_k, hd_v = w.head_dim_v;
    const std::size_t q_dim = n_head * hd, k_dim = n_kv * hd, v_dim = n_kv * hd_v;
    // One quantisation of xn for the products.
    const kernels::matmul_job jobs[] = {{&w.wq, w.attn_gated ? qg_.data() : q_.data()}, {&w.wk, k_.data()}, {&w.wv, v_.data()}};
    const std::size_t n_jobs = !owns_kv ? 1 : w.v_is_k ? 2 : 3;
    kernels::matmul_many(std::span(jobs, n_jobs), xn_.data(), n, policy_ == matmul_policy::batch_invariant, pool_);
    for_rows(n, [&](std::size_t t) {
        float* q = &q_[t * q_dim];
        float* k = &k_[t * k_dim];
        float* v = &v_[t * v_dim];
        if (w.attn_gated) {  // per head: hd query values, then hd gate values
            const float* qg = &qg_[t * 2 * q_dim];
            for (std::size_t h = 0; h < n_head; ++h) {
                std::copy_n(qg + 2 * h * hd, hd, q + h * hd);
                std::copy_n(qg + (2 * h + 1) * hd, hd, &attn_gate_[t * q_dim + h * hd]);
            }
        }
        if (owns_kv && w.v_is_k) std::copy(k, k + k_dim, v);
        if (!w.bq.empty()) {
            for (std::size_t i = 0; i < q_dim; ++i) q[i] += w.bq[i];
            for (std::size_t i = 0; i < k_dim; ++i) k[i] += w.bk[i];
            for (std::size_t i = 0; i < v_dim; ++i) v[i] += w.bv[i];
        }
        if (!w.q_norm.empty()) {  // qwen3, gemma3, gemma4, qwen35: RMSNorm of every head before rope
            for (std::size_t h = 0; h < n_head; ++h) rms_norm(q + h * hd, w.q_norm.data(), q + h * hd, hd, hp.rms_eps);
        }
        apply_rope(q, n_head, hd, t, w.sliding);
        if (!owns_kv) return;
        if (!w.k_norm.empty()) {
            for (std::size_t h = 0; h < n_kv; ++h) rms_norm(k + h * hd, w.k_norm.data(), k + h * hd, hd, hp.rms_eps);
        }
        if (m_.v_norm()) {
            for (std::size_t h = 0; h < n_kv; ++h) rms_norm(v + h * hd_v, nullptr, v + h * hd_v, hd_v, hp.rms_eps);
        }
        apply_rope(k, n_kv, hd, t, w.sliding);
        store_kv(l, t, cache, k, v);
    });
}

// tmp_ [n x n_embd] = self-attention of xn_ for layer l: projections (qkv), attention over
// each row's sequence, the output gate when the layer has one, output projection.
void transformer::attention_block(const layer_weights& w, std::size_t l, std::size_t n, kv_cache& cache) {
    qkv(l, n, cache);
    attention(l, n, cache);
    if (w.attn_gated) {  // attn *= sigmoid(gate), elementwise (head size k = v for qwen35)
        const std::size_t q_dim = std::size_t{m_.hparams().n_head} * w.head_dim_k;
        for (std::size_t i = 0; i < n * q_dim; ++i) attn_[i] *= 1.0f / (1.0f + std::exp(-attn_gate_[i]));
    }
    matmul(w.wo, attn_.data(), n, tmp_.data());  // [n x n_embd]
}

// tmp_ [n x n_embd] = the gated-DeltaNet block of recurrent layer l over xn_ (delta_net.hpp);
// each sequence's rows run through its state slot (cleared first when it starts at 0).
void transformer::recurrent_block(const layer_weights& w, std::size_t l, std::size_t n, kv_cache& cache) {
    dnet_runs_.clear();
    for (std::size_t t0 = 0; t0 < n;) {
        std::size_t t1 = t0 + 1;
        while (t1 < n && rows_[t1].seq == rows_[t0].seq) ++t1;
        dnet_runs_.push_back({t0, t1, rows_[t0].seq->state_slot});
        t0 = t1;
    }
    dnet_.forward(w, l, xn_.data(), n, dnet_runs_, cache.state(), tmp_.data(), policy_ == matmul_policy::batch_invariant,
                  [this](const kernels::weight_matrix& wm, const float* x, std::size_t rows, float* y) { matmul(wm, x, rows, y); }, pool_);
}

// gemma4, after layer l's FFN residual: x += the per-layer embedding term, then x *= the
// layer's output scale.
void transformer::layer_output(std::size_t l, std::size_t n) {
    const auto& w = m_.layers()[l];
    const std::size_t n_embd = m_.hparams().n_embd;
    if (per_layer_.active()) {
        per_layer_.add(l, x_.data(), [this](const kernels::weight_matrix& wm, const float* x, std::size_t rows, float* y) {
            matmul(wm, x, rows, y);
        });
    }
    if (w.output_scale != 1.0f) {
        for (std::size_t i = 0; i < n * n_embd; ++i) x_[i] *= w.output_scale;
    }
}

void transformer::forward_batch(std::span<const batch_sequence> seqs, kv_cache& cache, float* logits) {
    check(seqs, cache);
    const auto& hp = m_.hparams();
    const std::size_t n_embd = hp.n_embd;
    rows_.clear();
    ids_.clear();
    for (const auto& s : seqs) {
        for (std::size_t i = 0; i < s.tokens.size(); ++i) {
            rows_.push_back({&s, s.pos0 + i});
            ids_.push_back(s.tokens[i]);
        }
    }
    const std::size_t n = rows_.size();
    prepare_rope();
    if (m_.has_recurrent_layers()) {  // a sequence computed from position 0 starts from the empty state
        for (const auto& s : seqs) {
            if (s.pos0 == 0) cache.state().clear(s.state_slot);
        }
    }

    // x [n x n_embd] = embedding rows of the tokens
    const auto& emb = m_.token_embd();
    for (std::size_t t = 0; t < n; ++t) {
        const token_id id = ids_[t];
        kernels::dequantize_row(emb.type, static_cast<const std::byte*>(emb.data) + static_cast<std::size_t>(id) * emb.row_bytes,
                                x_.data() + t * n_embd, n_embd);
        if (m_.embedding_scale() != 1.0f) {  // gemma3, gemma4: sqrt(n_embd)
            for (std::size_t i = 0; i < n_embd; ++i) x_[t * n_embd + i] *= m_.embedding_scale();
        }
    }
    if (per_layer_.active()) {  // gemma4: every layer's per-layer input, from the tokens and x
        per_layer_.prepare(ids_, x_.data(), [this](const kernels::weight_matrix& wm, const float* x, std::size_t rows, float* y) {
            matmul(wm, x, rows, y);
        });
    }

    const auto& layers = m_.layers();
    // The work between products is per row: split across the pool by rows (each row's
    // arithmetic is unchanged, so the split changes nothing).
    for_rows(n, [&](std::size_t t) { rms_norm(&x_[t * n_embd], layers[0].attn_norm.data(), &xn_[t * n_embd], n_embd, hp.rms_eps); });
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto& w = layers[l];
        // --- attention block ---  (xn_ = rmsnorm(x) * attn_norm, from the step before)
        if (w.recurrent) {
            recurrent_block(w, l, n, cache);  // qwen35: tmp_ = gated DeltaNet(xn_)
        } else {
            attention_block(w, l, n, cache);  // tmp_ = attention(xn_)
        }
        // x += post_norm(tmp); xn = rmsnorm(x) * ffn_norm
        for_rows(n, [&](std::size_t t) { residual_then_norm(w.post_attn_norm, w.ffn_norm, t); });

        // --- feed-forward block ---
        feed_forward(w, n);
        // x += post_norm(tmp); xn = rmsnorm(x) * the next layer's attn_norm (none after the last)
        const std::vector<float>* next = l + 1 < layers.size() ? &layers[l + 1].attn_norm : nullptr;
        const bool more = per_layer_.active() || w.output_scale != 1.0f;  // gemma4: the layer's output first
        for_rows(n, [&](std::size_t t) {
            residual_then_norm(w.post_ffn_norm, next != nullptr ? *next : w.post_ffn_norm, t, next != nullptr && !more);
        });
        if (more) {
            layer_output(l, n);
            if (next != nullptr) {
                for_rows(n, [&](std::size_t t) { rms_norm(&x_[t * n_embd], next->data(), &xn_[t * n_embd], n_embd, hp.rms_eps); });
            }
        }
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
