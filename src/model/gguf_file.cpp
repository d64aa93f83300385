#include "sluice/model/gguf_file.hpp"

#include <algorithm>
#include <limits>
#include <memory>

#include "gguf_cursor.hpp"
#include "sluice/util/error.hpp"

namespace sluice::model {
namespace {

using detail::gguf_cursor;

constexpr std::uint32_t k_magic = 0x46554747;  // "GGUF" little-endian
constexpr int k_max_nesting = 8;               // arrays of arrays deeper than this are refused
constexpr std::uint32_t k_max_dims = 4;        // GGML_MAX_DIMS

bool valid_type(std::uint32_t t) { return t <= static_cast<std::uint32_t>(gguf_type::float64); }

gguf_value read_value(gguf_cursor& cur, gguf_type type, int depth);

gguf_value read_array(gguf_cursor& cur, int depth) {
    const std::size_t at = cur.pos();
    if (depth >= k_max_nesting) cur.fail("arrays nested too deeply", at);
    const auto raw_elem = cur.read<std::uint32_t>("array element type");
    if (!valid_type(raw_elem)) {
        cur.fail("unknown array element type " + std::to_string(raw_elem), at);
    }
    auto arr = std::make_shared<gguf_array>();
    arr->element_type = static_cast<gguf_type>(raw_elem);
    const std::size_t count_at = cur.pos();
    arr->count = cur.read<std::uint64_t>("array length");
    const std::size_t elem = scalar_size(arr->element_type);
    // Every element takes at least `min_size` bytes, which bounds the count by the file size.
    const std::size_t min_size = elem != 0 ? elem : (arr->element_type == gguf_type::string ? 8 : 12);
    if (arr->count > cur.remaining() / min_size) {
        cur.fail("array of " + std::to_string(arr->count) + " " +
                     std::string(name_of(arr->element_type)) + " elements exceeds the file size",
                 count_at);
    }
    const auto n = static_cast<std::size_t>(arr->count);
    if (elem != 0) {
        arr->raw = cur.here();
        cur.skip(n * elem, "array data");
        if (arr->element_type == gguf_type::boolean) {
            for (std::size_t i = 0; i < n; ++i) {
                if (static_cast<std::uint8_t>(arr->raw[i]) > 1) {
                    cur.fail("bool array element is neither 0 nor 1", count_at + 8 + i);
                }
            }
        }
    } else if (arr->element_type == gguf_type::string) {
        arr->strings.reserve(n);
        for (std::size_t i = 0; i < n; ++i) arr->strings.push_back(cur.read_string("array string"));
    } else {
        arr->nested.reserve(n);
        for (std::size_t i = 0; i < n; ++i) arr->nested.push_back(read_value(cur, gguf_type::array, depth + 1));
    }
    return gguf_value(gguf_type::array, std::shared_ptr<const gguf_array>(std::move(arr)));
}

gguf_value read_value(gguf_cursor& cur, gguf_type type, int depth) {
    switch (type) {
        case gguf_type::uint8: return {type, std::uint64_t{cur.read<std::uint8_t>("uint8")}};
        case gguf_type::int8: return {type, std::int64_t{cur.read<std::int8_t>("int8")}};
        case gguf_type::uint16: return {type, std::uint64_t{cur.read<std::uint16_t>("uint16")}};
        case gguf_type::int16: return {type, std::int64_t{cur.read<std::int16_t>("int16")}};
        case gguf_type::uint32: return {type, std::uint64_t{cur.read<std::uint32_t>("uint32")}};
        case gguf_type::int32: return {type, std::int64_t{cur.read<std::int32_t>("int32")}};
        case gguf_type::uint64: return {type, cur.read<std::uint64_t>("uint64")};
        case gguf_type::int64: return {type, cur.read<std::int64_t>("int64")};
        case gguf_type::float32: return {type, double{cur.read<float>("float32")}};
        case gguf_type::float64: return {type, cur.read<double>("float64")};
        case gguf_type::boolean: {
            const std::size_t at = cur.pos();
            const auto b = cur.read<std::uint8_t>("bool");
            if (b > 1) cur.fail("bool value " + std::to_string(b) + " is neither 0 nor 1", at);
            return {type, b == 1};
        }
        case gguf_type::string: return {type, cur.read_string("string")};
        case gguf_type::array: return read_array(cur, depth);
    }
    cur.fail("unknown value type", cur.pos());
}

// Bytes of a tensor of `type` and `dims`, or nullopt on overflow / ragged rows.
std::optional<std::uint64_t> tensor_bytes(const ggml_type_traits& t,
                                          const std::vector<std::uint64_t>& dims) {
    std::uint64_t n = 1;
    for (auto d : dims) {
        if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d) return std::nullopt;
        n *= d;
    }
    if (dims.empty() || dims[0] % t.block_size != 0) return std::nullopt;
    const std::uint64_t blocks = n / t.block_size;
    if (blocks != 0 && t.type_size > std::numeric_limits<std::int64_t>::max() / blocks) return std::nullopt;
    return blocks * t.type_size;
}

}  // namespace

std::uint64_t gguf_tensor::n_elements() const noexcept {
    std::uint64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
}

gguf_file gguf_file::open(const std::string& path) {
    gguf_file f;
    f.mapping_.emplace(path);
    f.bytes_ = f.mapping_->bytes();
    f.source_ = path;
    f.parse_all();
    return f;
}

gguf_file gguf_file::parse(std::span<const std::byte> bytes, std::string source_name) {
    gguf_file f;
    f.bytes_ = bytes;
    f.source_ = std::move(source_name);
    f.parse_all();
    return f;
}

void gguf_file::parse_all() {
    gguf_cursor cur(bytes_, source_);
    if (cur.remaining() < 4 || cur.read<std::uint32_t>("magic") != k_magic) {
        cur.fail("not a GGUF file (bad magic)", 0);
    }
    version_ = cur.read<std::uint32_t>("version");
    if (version_ == 1) {
        cur.fail("GGUF version 1 is not supported (obsolete since 2023; re-convert the model)", 4);
    }
    if (version_ != 2 && version_ != 3) {
        cur.fail("unsupported GGUF version " + std::to_string(version_), 4);
    }
    const std::size_t counts_at = cur.pos();
    const auto n_tensors = cur.read<std::uint64_t>("tensor count");
    const auto n_kv = cur.read<std::uint64_t>("metadata count");
    // A key-value pair needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info 8+4+8+4+8.
    if (n_kv > cur.remaining() / 13) cur.fail("metadata count " + std::to_string(n_kv) + " exceeds the file size", counts_at + 8);
    if (n_tensors > cur.remaining() / 32) cur.fail("tensor count " + std::to_string(n_tensors) + " exceeds the file size", counts_at);

    kvs_.reserve(static_cast<std::size_t>(n_kv));
    for (std::uint64_t i = 0; i < n_kv; ++i) {
        const std::size_t at = cur.pos();
        const auto key = cur.read_string("metadata key");
        const std::size_t type_at = cur.pos();
        const auto raw_type = cur.read<std::uint32_t>("metadata value type");
        if (!valid_type(raw_type)) {
            cur.fail("unknown value type " + std::to_string(raw_type) + " for key '" + std::string(key) + "'", type_at);
        }
        auto value = read_value(cur, static_cast<gguf_type>(raw_type), 0);
        if (!kv_index_.emplace(key, kvs_.size()).second) {
            cur.fail("duplicate metadata key '" + std::string(key) + "'", at);
        }
        kvs_.push_back({key, std::move(value)});
    }

    if (const auto* a = find("general.alignment")) {
        if (!a->is_integer()) cur.fail("general.alignment is not an integer", 0);
        alignment_ = a->as_uint("general.alignment");
        if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0 || alignment_ > (1u << 20)) {
            cur.fail("general.alignment " + std::to_string(alignment_) + " is not a power of two up to 1 MiB", 0);
        }
    }

    tensors_.reserve(static_cast<std::size_t>(n_tensors));
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
        const std::size_t at = cur.pos();
        gguf_tensor t;
        t.name = cur.read_string("tensor name");
        const std::size_t dims_at = cur.pos();
        const auto n_dims = cur.read<std::uint32_t>("tensor dimension count");
        if (n_dims == 0 || n_dims > k_max_dims) {
            cur.fail("tensor '" + std::string(t.name) + "' has " + std::to_string(n_dims) + " dimensions (1-4 allowed)", dims_at);
        }
        for (std::uint32_t d = 0; d < n_dims; ++d) t.dims.push_back(cur.read<std::uint64_t>("tensor dimension"));
        const std::size_t type_at = cur.pos();
        const auto raw_type = cur.read<std::uint32_t>("tensor type");
        const auto traits = traits_of(raw_type);
        if (!traits) {
            cur.fail("tensor '" + std::string(t.name) + "' has unknown ggml type " + std::to_string(raw_type), type_at);
        }
        t.type = static_cast<ggml_type>(raw_type);
        const std::size_t off_at = cur.pos();
        t.offset = cur.read<std::uint64_t>("tensor offset");
        const auto bytes = tensor_bytes(*traits, t.dims);
        if (!bytes) {
            cur.fail("tensor '" + std::string(t.name) + "' has invalid dimensions for type " + std::string(traits->name) +
                         " (overflow, or row length not a multiple of the block size " + std::to_string(traits->block_size) + ")",
                     dims_at);
        }
        t.n_bytes = *bytes;
        if (t.offset % alignment_ != 0) {
            cur.fail("tensor '" + std::string(t.name) + "' offset " + std::to_string(t.offset) + " is not aligned to " + std::to_string(alignment_), off_at);
        }
        if (!tensor_index_.emplace(t.name, tensors_.size()).second) {
            cur.fail("duplicate tensor name '" + std::string(t.name) + "'", at);
        }
        tensors_.push_back(std::move(t));
    }

    // The data section starts at the next multiple of the alignment.
    const std::uint64_t pos = cur.pos();
    data_offset_ = (pos + alignment_ - 1) / alignment_ * alignment_;
    const std::uint64_t data_size = data_offset_ <= bytes_.size() ? bytes_.size() - data_offset_ : 0;
    if (!tensors_.empty() && data_offset_ > bytes_.size()) cur.fail("truncated file: data section missing", pos);

    std::vector<const gguf_tensor*> by_offset;
    by_offset.reserve(tensors_.size());
    for (auto& t : tensors_) {
        if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
            cur.fail("truncated file: tensor '" + std::string(t.name) + "' (" + std::to_string(t.n_bytes) +
                         " bytes at data offset " + std::to_string(t.offset) + ") extends past the end of the file",
                     static_cast<std::size_t>(data_offset_));
        }
        t.data = bytes_.data() + data_offset_ + t.offset;
        by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < by_offset.size(); ++i) {
        const auto* prev = by_offset[i - 1];
        if (prev->offset + prev->n_bytes > by_offset[i]->offset) {
            cur.fail("tensors '" + std::string(prev->name) + "' and '" + std::string(by_offset[i]->name) + "' overlap",
                     static_cast<std::size_t>(data_offset_ + by_offset[i]->offset));
        }
    }
}

const gguf_value* gguf_file::find(std::string_view key) const noexcept {
    const auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const gguf_value& gguf_file::get(std::string_view key) const {
    if (const auto* v = find(key)) return *v;
    throw error(errc::missing_key, source_ + ": missing metadata key '" + std::string(key) + "'");
}

const gguf_tensor* gguf_file::find_tensor(std::string_view name) const noexcept {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace sluice::model
