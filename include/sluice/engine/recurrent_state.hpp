// Per-sequence state of a model's recurrent (gated-DeltaNet) layers, in numbered slots:
// for each recurrent layer and slot,
//   conv [(d_conv - 1) x conv_dim]  the last d_conv - 1 inputs of the causal convolution,
//                                   oldest first (zeros before the first token);
//   ssm  [n_v_heads x head_v x head_k]  the DeltaNet matrix of each value head, stored
//                                   transposed: row j holds S[.][j] (llama.cpp's layout).
// Unlike the KV cache, a slot holds the state after one position only (that of the
// sequence's last computed token): it cannot be rewound, only copied whole (checkpoints).
// Float throughout, as llama.cpp keeps it. A model without recurrent layers has empty
// slots (bytes 0). Owned with the kv_cache by whoever runs the forward passes; not
// thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "sluice/engine/llm_model.hpp"

namespace sluice::engine {

class recurrent_state {
public:
    recurrent_state(const llm_model& m, std::size_t n_slots);

    std::size_t n_slots() const noexcept { return n_slots_; }
    // Bytes of one slot (all recurrent layers), before a state exists (sizing a pool).
    static std::size_t slot_bytes(const llm_model& m) noexcept;
    std::size_t slot_bytes() const noexcept { return (conv_size_ + ssm_size_) * n_layers_ * sizeof(float); }

    // `layer` is the model's layer index (a recurrent layer).
    float* conv(std::size_t layer, std::size_t slot) noexcept { return data_.data() + offset(layer, slot); }
    float* ssm(std::size_t layer, std::size_t slot) noexcept { return conv(layer, slot) + conv_size_; }

    void clear(std::size_t slot) noexcept;                     // the state before any token
    void copy(std::size_t from, std::size_t to) noexcept;      // slot `to` := slot `from`

private:
    std::size_t offset(std::size_t layer, std::size_t slot) const noexcept {
        return (slot * n_layers_ + index_[layer]) * (conv_size_ + ssm_size_);
    }
    std::size_t n_slots_, n_layers_ = 0, conv_size_ = 0, ssm_size_ = 0;
    std::vector<std::size_t> index_;  // model layer -> its ordinal among recurrent layers
    std::vector<float> data_;         // [n_slots x n_layers x (conv + ssm)]
};

}  // namespace sluice::engine
