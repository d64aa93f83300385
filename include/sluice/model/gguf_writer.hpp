// Writes GGUF v3 files: used by tests (hostile and tiny models), benchmarks
// (synthetic models of a given shape) and tools. Not on any request path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sluice/model/ggml_type.hpp"
#include "sluice/model/gguf_value.hpp"

namespace sluice::model {

class gguf_writer {
public:
    explicit gguf_writer(std::uint32_t alignment = 32) : alignment_(alignment) {}

    void add_u32(const std::string& key, std::uint32_t v);
    void add_i32(const std::string& key, std::int32_t v);
    void add_f32(const std::string& key, float v);
    void add_bool(const std::string& key, bool v);
    void add_string(const std::string& key, const std::string& v);
    void add_strings(const std::string& key, const std::vector<std::string>& v);
    void add_f32s(const std::string& key, const std::vector<float>& v);
    void add_i32s(const std::string& key, const std::vector<std::int32_t>& v);
    void add_u32s(const std::string& key, const std::vector<std::uint32_t>& v);
    void add_bools(const std::string& key, const std::vector<bool>& v);

    // `data` must hold exactly the bytes the type and dims require.
    void add_tensor(const std::string& name, ggml_type type, std::vector<std::uint64_t> dims,
                    std::vector<std::byte> data);

    std::vector<std::byte> bytes() const;
    void write_file(const std::string& path) const;

private:
    struct tensor {
        std::string name;
        ggml_type type;
        std::vector<std::uint64_t> dims;
        std::vector<std::byte> data;
    };
    std::uint32_t alignment_;
    std::vector<std::byte> kv_bytes_;
    std::uint64_t n_kv_ = 0;
    std::vector<tensor> tensors_;
};

}  // namespace sluice::model
