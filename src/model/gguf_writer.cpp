#include "sluice/model/gguf_writer.hpp"

#include <cstring>
#include <fstream>

#include "sluice/util/error.hpp"

namespace sluice::model {
namespace {

void put_bytes(std::vector<std::byte>& out, const void* p, std::size_t n) {
    if (n == 0) return;
    const std::size_t at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, p, n);
}

template <typename T>
void put(std::vector<std::byte>& out, T v) {
    put_bytes(out, &v, sizeof v);
}

void put_string(std::vector<std::byte>& out, const std::string& s) {
    put<std::uint64_t>(out, s.size());
    put_bytes(out, s.data(), s.size());
}

void put_key(std::vector<std::byte>& out, const std::string& key, gguf_type type) {
    put_string(out, key);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(type));
}

}  // namespace

void gguf_writer::add_u32(const std::string& key, std::uint32_t v) {
    put_key(kv_bytes_, key, gguf_type::uint32);
    put(kv_bytes_, v);
    ++n_kv_;
}

void gguf_writer::add_i32(const std::string& key, std::int32_t v) {
    put_key(kv_bytes_, key, gguf_type::int32);
    put(kv_bytes_, v);
    ++n_kv_;
}

void gguf_writer::add_f32(const std::string& key, float v) {
    put_key(kv_bytes_, key, gguf_type::float32);
    put(kv_bytes_, v);
    ++n_kv_;
}

void gguf_writer::add_bool(const std::string& key, bool v) {
    put_key(kv_bytes_, key, gguf_type::boolean);
    put<std::uint8_t>(kv_bytes_, v ? 1 : 0);
    ++n_kv_;
}

void gguf_writer::add_string(const std::string& key, const std::string& v) {
    put_key(kv_bytes_, key, gguf_type::string);
    put_string(kv_bytes_, v);
    ++n_kv_;
}

void gguf_writer::add_strings(const std::string& key, const std::vector<std::string>& v) {
    put_key(kv_bytes_, key, gguf_type::array);
    put<std::uint32_t>(kv_bytes_, static_cast<std::uint32_t>(gguf_type::string));
    put<std::uint64_t>(kv_bytes_, v.size());
    for (const auto& s : v) put_string(kv_bytes_, s);
    ++n_kv_;
}

void gguf_writer::add_f32s(const std::string& key, const std::vector<float>& v) {
    put_key(kv_bytes_, key, gguf_type::array);
    put<std::uint32_t>(kv_bytes_, static_cast<std::uint32_t>(gguf_type::float32));
    put<std::uint64_t>(kv_bytes_, v.size());
    for (float x : v) put(kv_bytes_, x);
    ++n_kv_;
}

void gguf_writer::add_i32s(const std::string& key, const std::vector<std::int32_t>& v) {
    put_key(kv_bytes_, key, gguf_type::array);
    put<std::uint32_t>(kv_bytes_, static_cast<std::uint32_t>(gguf_type::int32));
    put<std::uint64_t>(kv_bytes_, v.size());
    for (auto x : v) put(kv_bytes_, x);
    ++n_kv_;
}

void gguf_writer::add_u32s(const std::string& key, const std::vector<std::uint32_t>& v) {
    put_key(kv_bytes_, key, gguf_type::array);
    put<std::uint32_t>(kv_bytes_, static_cast<std::uint32_t>(gguf_type::uint32));
    put<std::uint64_t>(kv_bytes_, v.size());
    for (auto x : v) put(kv_bytes_, x);
    ++n_kv_;
}

void gguf_writer::add_bools(const std::string& key, const std::vector<bool>& v) {
    put_key(kv_bytes_, key, gguf_type::array);
    put<std::uint32_t>(kv_bytes_, static_cast<std::uint32_t>(gguf_type::boolean));
    put<std::uint64_t>(kv_bytes_, v.size());
    for (const bool x : v) put<std::uint8_t>(kv_bytes_, x ? 1 : 0);
    ++n_kv_;
}

void gguf_writer::add_tensor(const std::string& name, ggml_type type, std::vector<std::uint64_t> dims,
                             std::vector<std::byte> data) {
    const auto t = traits_of(type);
    std::uint64_t n = 1;
    for (auto d : dims) n *= d;
    if (dims.empty() || dims[0] % t.block_size != 0 || n / t.block_size * t.type_size != data.size()) {
        throw error(errc::invalid_argument, "gguf_writer: tensor '" + name + "' data size does not match its shape");
    }
    tensors_.push_back({name, type, std::move(dims), std::move(data)});
}

std::vector<std::byte> gguf_writer::bytes() const {
    std::vector<std::byte> out;
    put<std::uint32_t>(out, 0x46554747);
    put<std::uint32_t>(out, 3);
    put<std::uint64_t>(out, tensors_.size());
    put<std::uint64_t>(out, n_kv_ + (alignment_ != 32 ? 1 : 0));
    put_bytes(out, kv_bytes_.data(), kv_bytes_.size());
    if (alignment_ != 32) {
        put_key(out, "general.alignment", gguf_type::uint32);
        put<std::uint32_t>(out, alignment_);
    }
    std::uint64_t offset = 0;
    auto align = [&](std::uint64_t x) { return (x + alignment_ - 1) / alignment_ * alignment_; };
    for (const auto& t : tensors_) {
        put_string(out, t.name);
        put<std::uint32_t>(out, static_cast<std::uint32_t>(t.dims.size()));
        for (auto d : t.dims) put<std::uint64_t>(out, d);
        put<std::uint32_t>(out, static_cast<std::uint32_t>(t.type));
        put<std::uint64_t>(out, offset);
        offset = align(offset + t.data.size());
    }
    out.resize(align(out.size()));
    const std::size_t data_start = out.size();
    for (const auto& t : tensors_) {
        put_bytes(out, t.data.data(), t.data.size());
        out.resize(data_start + align(out.size() - data_start));
    }
    return out;
}

void gguf_writer::write_file(const std::string& path) const {
    const auto b = bytes();
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) throw error(errc::io, "cannot write '" + path + "'");
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!f) throw error(errc::io, "short write to '" + path + "'");
}

}  // namespace sluice::model
