#include "sluice/engine/recurrent_state.hpp"

#include <algorithm>

namespace sluice::engine {
namespace {

std::size_t count_recurrent(const llm_model& m) {
    return static_cast<std::size_t>(std::count_if(m.layers().begin(), m.layers().end(), [](const auto& l) { return l.recurrent; }));
}
std::size_t conv_floats(const llm_model& m) {
    const auto& d = m.delta_net();
    return d.d_conv > 0 ? (d.d_conv - 1) * d.conv_dim() : 0;
}
std::size_t ssm_floats(const llm_model& m) {
    const auto& d = m.delta_net();
    return std::size_t{d.n_v_heads} * d.head_v * d.head_k;
}

}  // namespace

recurrent_state::recurrent_state(const llm_model& m, std::size_t n_slots)
    : n_slots_(n_slots), n_layers_(count_recurrent(m)), conv_size_(conv_floats(m)), ssm_size_(ssm_floats(m)), index_(m.layers().size(), 0) {
    std::size_t k = 0;
    for (std::size_t l = 0; l < m.layers().size(); ++l) index_[l] = m.layers()[l].recurrent ? k++ : 0;
    data_.assign(n_slots_ * n_layers_ * (conv_size_ + ssm_size_), 0.0f);
}

std::size_t recurrent_state::slot_bytes(const llm_model& m) noexcept {
    return count_recurrent(m) * (conv_floats(m) + ssm_floats(m)) * sizeof(float);
}

void recurrent_state::clear(std::size_t slot) noexcept {
    const std::size_t n = n_layers_ * (conv_size_ + ssm_size_);
    std::fill_n(data_.data() + slot * n, n, 0.0f);
}

void recurrent_state::copy(std::size_t from, std::size_t to) noexcept {
    const std::size_t n = n_layers_ * (conv_size_ + ssm_size_);
    if (from != to) std::copy_n(data_.data() + from * n, n, data_.data() + to * n);
}

}  // namespace sluice::engine
