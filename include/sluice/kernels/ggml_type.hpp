// The ggml tensor element types as stored in GGUF files, with their block layout.
// Sizes are known for every type (even ones sluice cannot compute with), so tensor
// extents are always validated.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::kernels {

enum class ggml_type : std::uint32_t {
    f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9,
    q2_k = 10, q3_k = 11, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15,
    iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21,
    iq2_s = 22, iq4_xs = 23, i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28,
    iq1_m = 29, bf16 = 30, tq1_0 = 34, tq2_0 = 35, mxfp4 = 39,
};

struct ggml_type_traits {
    std::string_view name;     // upper-case name as llama.cpp prints it ("Q4_K")
    std::uint32_t block_size;  // elements per block
    std::uint32_t type_size;   // bytes per block
};

// Traits for a raw type id, or nullopt for ids no ggml version defines.
std::optional<ggml_type_traits> traits_of(std::uint32_t raw_type) noexcept;
ggml_type_traits traits_of(ggml_type type) noexcept;
std::string_view name_of(ggml_type type) noexcept;

}  // namespace sluice::kernels
