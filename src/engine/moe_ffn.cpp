#include "sluice/engine/moe_ffn.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "activations.hpp"
#include "sluice/kernels/swiglu.hpp"

namespace sluice::engine {
namespace {

constexpr std::size_t k_act_chunk = 1024;  // elements per pool task

}  // namespace

void route_experts(const float* logits, const moe_params& p, expert_route* out) {
    // softmax as ggml computes it: exp(l - max) summed in double, then scaled by 1/sum.
    thread_local std::vector<float> prob;
    thread_local std::vector<std::uint32_t> order;
    prob.resize(p.n_expert);
    order.resize(p.n_expert);
    const float max = *std::max_element(logits, logits + p.n_expert);
    double sum = 0;
    for (std::size_t i = 0; i < p.n_expert; ++i) sum += (prob[i] = std::exp(logits[i] - max));
    const auto inv = static_cast<float>(1.0 / sum);
    for (auto& v : prob) v *= inv;
    std::iota(order.begin(), order.end(), 0u);
    std::partial_sort(order.begin(), order.begin() + p.n_used, order.end(),
                      [&](std::uint32_t a, std::uint32_t b) { return prob[a] > prob[b] || (prob[a] == prob[b] && a < b); });
    double wsum = 0;
    for (std::size_t s = 0; s < p.n_used; ++s) {
        out[s] = {order[s], prob[order[s]]};
        wsum += out[s].weight;
    }
    if (p.norm_weights) {
        const float denom = std::max(static_cast<float>(wsum), 6.103515625e-5f);  // clamped as llama.cpp does
        for (std::size_t s = 0; s < p.n_used; ++s) out[s].weight /= denom;
    }
    if (p.weights_scale != 0.0f && p.weights_scale != 1.0f) {
        for (std::size_t s = 0; s < p.n_used; ++s) out[s].weight *= p.weights_scale;
    }
}

moe_ffn::moe_ffn(const llm_model& m, std::size_t max_batch) : m_(m) {
    const auto& p = m.moe();
    if (p.n_expert == 0) return;
    const std::size_t n_embd = m.hparams().n_embd;
    logits_.resize(max_batch * p.n_expert);
    routes_.resize(max_batch * p.n_used);
    rows_.resize(p.n_expert);
    in_.resize(max_batch * n_embd);
    gate_.resize(max_batch * p.n_ff_exp);
    up_.resize(max_batch * p.n_ff_exp);
    down_.resize(max_batch * n_embd);
    out_.resize(max_batch * p.n_used * n_embd);
}

void moe_ffn::forward(const layer_weights& w, const float* xn, std::size_t n, float* y, const matmul_fn& matmul, thread_pool& pool) {
    const auto& p = m_.moe();
    const std::size_t n_embd = m_.hparams().n_embd, k = p.n_used, n_ff = p.n_ff_exp;
    kernels::matmul_rows(w.router, xn, n, logits_.data(), pool);  // [n x n_expert]
    for (auto& r : rows_) r.clear();
    for (std::size_t t = 0; t < n; ++t) {
        route_experts(&logits_[t * p.n_expert], p, &routes_[t * k]);
        for (std::size_t s = 0; s < k; ++s) rows_[routes_[t * k + s].expert].push_back(static_cast<std::uint32_t>(t * k + s));
    }
    for (std::size_t e = 0; e < p.n_expert; ++e) {
        const auto& rows = rows_[e];
        const std::size_t m = rows.size();
        if (m == 0) continue;  // no row chose this expert: its weights are not read
        for (std::size_t j = 0; j < m; ++j) std::copy_n(xn + rows[j] / k * n_embd, n_embd, &in_[j * n_embd]);
        const auto& ex = w.experts[e];
        for (const auto* wm : {&ex.gate, &ex.up, &ex.down}) bytes_read_ += wm->n_out * wm->row_bytes;
        matmul(ex.gate, in_.data(), m, gate_.data());  // [m x n_ff]
        matmul(ex.up, in_.data(), m, up_.data());      // [m x n_ff]
        pool.run((m * n_ff + k_act_chunk - 1) / k_act_chunk, [&](std::size_t c) {
            const std::size_t end = std::min(m * n_ff, (c + 1) * k_act_chunk);
            kernels::swiglu(&gate_[c * k_act_chunk], &up_[c * k_act_chunk], &gate_[c * k_act_chunk], end - c * k_act_chunk);
        });
        matmul(ex.down, gate_.data(), m, down_.data());  // [m x n_embd]
        for (std::size_t j = 0; j < m; ++j) std::copy_n(&down_[j * n_embd], n_embd, &out_[rows[j] * n_embd]);
    }
    // Each row's weighted sum in its routing order (llama.cpp adds the weighted experts
    // one after another in the same order).
    for (std::size_t t = 0; t < n; ++t) {
        float* yt = y + t * n_embd;
        for (std::size_t s = 0; s < k; ++s) {
            const float wgt = routes_[t * k + s].weight;
            const float* o = &out_[(t * k + s) * n_embd];
            if (s == 0) {
                for (std::size_t i = 0; i < n_embd; ++i) yt[i] = o[i] * wgt;
            } else {
                for (std::size_t i = 0; i < n_embd; ++i) yt[i] += o[i] * wgt;
            }
        }
    }
}

}  // namespace sluice::engine
