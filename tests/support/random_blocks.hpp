// Random but well-formed weight rows of any computable type (scales are finite
// halves of moderate size; all other bits random), for kernel tests.
#pragma once

#include <cstring>
#include <random>
#include <vector>

#include "sluice/kernels/fp16.hpp"
#include "sluice/kernels/ggml_type.hpp"

namespace sluice::test {

inline std::vector<std::byte> random_row(kernels::ggml_type type, std::size_t n, std::mt19937& rng) {
    using kernels::ggml_type;
    const auto t = kernels::traits_of(type);
    std::vector<std::byte> row(n / t.block_size * t.type_size);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> val(-1.0f, 1.0f);
    for (auto& b : row) b = static_cast<std::byte>(byte(rng));
    auto put_half = [&](std::size_t off, float v) {
        const auto h = kernels::fp32_to_fp16(v);
        std::memcpy(row.data() + off, &h, 2);
    };
    if (type == ggml_type::f32) {
        for (std::size_t i = 0; i < n; ++i) {
            const float v = val(rng);
            std::memcpy(row.data() + 4 * i, &v, 4);
        }
        return row;
    }
    if (type == ggml_type::f16) {
        for (std::size_t i = 0; i < n; ++i) put_half(2 * i, val(rng));
        return row;
    }
    if (type == ggml_type::bf16) {
        for (std::size_t i = 0; i < n; ++i) {
            const float v = val(rng);
            std::uint32_t bits;
            std::memcpy(&bits, &v, 4);
            const auto h = static_cast<std::uint16_t>(bits >> 16);
            std::memcpy(row.data() + 2 * i, &h, 2);
        }
        return row;
    }
    // Offsets of the half-precision scale fields inside one block.
    std::vector<std::size_t> halves;
    switch (type) {
        case ggml_type::q4_0: case ggml_type::q5_0: case ggml_type::q8_0: case ggml_type::iq4_nl: case ggml_type::iq4_xs: halves = {0}; break;
        case ggml_type::q4_1: case ggml_type::q5_1: case ggml_type::q4_k: case ggml_type::q5_k: halves = {0, 2}; break;
        case ggml_type::q2_k: halves = {80, 82}; break;
        case ggml_type::q3_k: halves = {108}; break;
        case ggml_type::q6_k: halves = {208}; break;
        default: break;
    }
    for (std::size_t b = 0; b < row.size() / t.type_size; ++b) {
        for (auto off : halves) put_half(b * t.type_size + off, val(rng) * 0.1f);
    }
    return row;
}

inline std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

}  // namespace sluice::test
