// A parsed GGUF (v2/v3) file over a memory mapping or a caller-owned buffer.
//
// Contract: every count, length and offset read from the file is checked against
// the bytes that remain before it is used, so a truncated, corrupt or malicious
// file produces sluice::error(errc::invalid_format) naming the problem and the
// byte offset -- never a crash, a hang or an allocation larger than the file.
// Tensor data pointers point into the mapping; no weight is copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/model/ggml_type.hpp"
#include "sluice/model/gguf_value.hpp"
#include "sluice/model/mapped_file.hpp"

namespace sluice::model {

struct gguf_tensor {
    std::string_view name;
    ggml_type type = ggml_type::f32;
    std::vector<std::uint64_t> dims;  // ne[0] is the contiguous (row) dimension
    std::uint64_t offset = 0;         // relative to the data section
    std::uint64_t n_bytes = 0;
    const std::byte* data = nullptr;  // into the mapping

    std::uint64_t n_elements() const noexcept;
};

struct gguf_kv {
    std::string_view key;
    gguf_value value;
};

class gguf_file {
public:
    // Maps and parses `path`. Throws sluice::error (io or invalid_format).
    static gguf_file open(const std::string& path);
    // Parses a buffer the caller keeps alive for the lifetime of the result.
    static gguf_file parse(std::span<const std::byte> bytes, std::string source_name = "<memory>");

    std::uint32_t version() const noexcept { return version_; }
    std::uint64_t alignment() const noexcept { return alignment_; }
    std::uint64_t data_offset() const noexcept { return data_offset_; }
    std::size_t file_size() const noexcept { return bytes_.size(); }
    const std::string& source() const noexcept { return source_; }

    const std::vector<gguf_kv>& metadata() const noexcept { return kvs_; }
    const gguf_value* find(std::string_view key) const noexcept;
    // Throws errc::missing_key naming the key when absent.
    const gguf_value& get(std::string_view key) const;

    const std::vector<gguf_tensor>& tensors() const noexcept { return tensors_; }
    const gguf_tensor* find_tensor(std::string_view name) const noexcept;

private:
    gguf_file() = default;
    void parse_all();

    std::optional<mapped_file> mapping_;
    std::span<const std::byte> bytes_;
    std::string source_;
    std::uint32_t version_ = 0;
    std::uint64_t alignment_ = 32;
    std::uint64_t data_offset_ = 0;
    std::vector<gguf_kv> kvs_;
    std::unordered_map<std::string_view, std::size_t> kv_index_;
    std::vector<gguf_tensor> tensors_;
    std::unordered_map<std::string_view, std::size_t> tensor_index_;
};

}  // namespace sluice::model
