#include "sluice/engine/delta_net.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::engine {
namespace {

// llama.cpp's CPU forms of the elementwise functions.
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float silu(float x) { return x / (1.0f + std::exp(-x)); }
float softplus(float x) { return x > 20.0f ? x : std::log(1.0f + std::exp(x)); }

// y = x / sqrt(mean(x^2) + eps) (no weight), the sum of squares in double as ggml's rms_norm.
float rms_scale(const float* x, std::size_t n, float eps) {
    double ss = 0;
    for (std::size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i] * x[i]);
    const float mean = static_cast<float>(ss / static_cast<double>(n));
    return 1.0f / std::sqrt(mean + eps);
}

float dot(const float* a, const float* b, std::size_t n) {
    float s = 0.0f;
    for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

}  // namespace

delta_net::delta_net(const llm_model& m, std::size_t max_batch) : m_(m) {
    if (!m.has_recurrent_layers()) return;
    const auto& d = m.delta_net();
    mixed_.resize(max_batch * d.conv_dim());
    conv_.resize(max_batch * d.conv_dim());
    z_.resize(max_batch * d.value_dim());
    o_.resize(max_batch * d.value_dim());
    beta_.resize(max_batch * d.n_v_heads);
    alpha_.resize(max_batch * d.n_v_heads);
}

// conv_ rows [t0, t1) = silu(causal convolution) of mixed_, then q and k L2-normalised per
// head; the slot's window moves past the rows.
void delta_net::convolve(const layer_weights& w, std::size_t layer, const run& r, recurrent_state& st) {
    const auto& d = m_.delta_net();
    const std::size_t C = d.conv_dim(), K = d.d_conv;
    float* window = st.conv(layer, r.slot);  // [(K-1) x C], oldest first
    for (std::size_t t = r.t0; t < r.t1; ++t) {
        const float* x = &mixed_[t * C];
        float* y = &conv_[t * C];
        for (std::size_t c = 0; c < C; ++c) {
            const float* taps = &w.ssm_conv[c * K];
            float sum = 0.0f;
            for (std::size_t i = 0; i + 1 < K; ++i) sum += window[i * C + c] * taps[i];
            sum += x[c] * taps[K - 1];
            y[c] = silu(sum);
        }
        if (K > 1) {
            std::copy(window + C, window + (K - 1) * C, window);  // drop the oldest input
            std::copy(x, x + C, window + (K - 2) * C);
        }
        // L2 norm of each query and key head: x * (1/sqrt(sum/n + eps/n)) * (1/sqrt(n)).
        const float eps = m_.hparams().rms_eps, n = static_cast<float>(d.head_k), inv_sqrt_n = 1.0f / std::sqrt(n);
        for (std::size_t h = 0; h < 2 * std::size_t{d.n_k_heads}; ++h) {
            float* v = y + h * d.head_k;
            const float s = rms_scale(v, d.head_k, eps / n);
            for (std::size_t i = 0; i < d.head_k; ++i) v[i] = v[i] * s * inv_sqrt_n;
        }
    }
}

// Value head h of a run: the DeltaNet recurrence over its rows, outputs into o_.
void delta_net::recur(std::size_t layer, const run& r, std::size_t h, recurrent_state& st) {
    const auto& d = m_.delta_net();
    const std::size_t C = d.conv_dim(), S_k = d.head_k, S_v = d.head_v, H_v = d.n_v_heads;
    const std::size_t kh = h % d.n_k_heads;  // llama.cpp tiles the key heads over the value heads
    float* M = st.ssm(layer, r.slot) + h * S_v * S_k;  // row j: S[.][j]
    const float scale = 1.0f / std::sqrt(static_cast<float>(S_v));
    thread_local std::vector<float> delta;
    delta.resize(S_v);
    for (std::size_t t = r.t0; t < r.t1; ++t) {
        const float* q = &conv_[t * C + kh * S_k];
        const float* k = &conv_[t * C + d.key_dim() + kh * S_k];
        const float* v = &conv_[t * C + 2 * d.key_dim() + h * S_v];
        const float beta = beta_[t * H_v + h];
        const float decay = std::exp(alpha_[t * H_v + h]);  // alpha_ holds g by now
        for (std::size_t i = 0; i < S_v * S_k; ++i) M[i] *= decay;
        for (std::size_t j = 0; j < S_v; ++j) delta[j] = (v[j] - dot(&M[j * S_k], k, S_k)) * beta;
        for (std::size_t j = 0; j < S_v; ++j) {
            float* row = &M[j * S_k];
            for (std::size_t i = 0; i < S_k; ++i) row[i] += k[i] * delta[j];
        }
        float* o = &o_[t * d.value_dim() + h * S_v];
        for (std::size_t j = 0; j < S_v; ++j) o[j] = dot(&M[j * S_k], q, S_k) * scale;
    }
}

void delta_net::forward(const layer_weights& w, std::size_t layer, const float* xn, std::size_t n, std::span<const run> runs,
                        recurrent_state& st, float* out, bool invariant, const matmul_fn& matmul, thread_pool& pool) {
    const auto& d = m_.delta_net();
    const std::size_t H_v = d.n_v_heads, S_v = d.head_v;
    const kernels::matmul_job jobs[] = {{&w.ssm_qkv, mixed_.data()}, {&w.ssm_z, z_.data()}, {&w.ssm_beta, beta_.data()},
                                        {&w.ssm_alpha, alpha_.data()}};
    kernels::matmul_many(jobs, xn, n, invariant, pool);
    for (std::size_t t = 0; t < n; ++t) {
        for (std::size_t h = 0; h < H_v; ++h) {
            float& b = beta_[t * H_v + h];
            float& a = alpha_[t * H_v + h];
            b = sigmoid(b);
            a = softplus(a + w.ssm_dt[h]) * w.ssm_a[h];
        }
    }
    pool.run(runs.size(), [&](std::size_t i) { convolve(w, layer, runs[i], st); });
    pool.run(runs.size() * H_v, [&](std::size_t i) { recur(layer, runs[i / H_v], i % H_v, st); });
    // o_h = rmsnorm(o_h) * ssm_norm * silu(z_h), per row and head.
    const float eps = m_.hparams().rms_eps;
    for (std::size_t t = 0; t < n; ++t) {
        for (std::size_t h = 0; h < H_v; ++h) {
            float* o = &o_[t * d.value_dim() + h * S_v];
            const float* z = &z_[t * d.value_dim() + h * S_v];
            const float s = rms_scale(o, S_v, eps);
            for (std::size_t j = 0; j < S_v; ++j) o[j] = (o[j] * s * w.ssm_norm[j]) * silu(z[j]);
        }
    }
    matmul(w.ssm_out, o_.data(), n, out);
}

}  // namespace sluice::engine
