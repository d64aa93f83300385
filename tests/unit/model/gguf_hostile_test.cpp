// Hostile GGUF input: every malformed file is refused with errc::invalid_format and
// a message naming the problem and its byte offset -- never a crash or a huge allocation.
#include <gtest/gtest.h>

#include <cstring>

#include "sluice/model/gguf_file.hpp"
#include "sluice/model/gguf_writer.hpp"
#include "sluice/util/error.hpp"
#include "support/gguf_bytes.hpp"

namespace {

using namespace sluice::model;
using sluice::test::after_string;
using sluice::test::f32_bytes;
using sluice::test::patch;

std::vector<std::byte> sample() {
    gguf_writer w;
    w.add_string("general.architecture", "llama");
    w.add_strings("tokenizer.ggml.tokens", {"x", "y"});
    w.add_u32("llama.block_count", 1);
    w.add_tensor("first", ggml_type::f32, {16}, f32_bytes(16));
    w.add_tensor("second", ggml_type::f32, {8}, f32_bytes(8));
    return w.bytes();
}

// Parses `bytes`, expecting an invalid_format error whose message contains `needle`.
void expect_rejected(const std::vector<std::byte>& bytes, const std::string& needle) {
    try {
        (void)gguf_file::parse(bytes, "test.gguf");
        FAIL() << "expected rejection containing '" << needle << "'";
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), sluice::errc::invalid_format) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("offset"), std::string::npos) << e.what();
    }
}

TEST(gguf_hostile, truncation_anywhere_before_the_last_tensor_is_refused) {
    const auto full = sample();
    const auto f = gguf_file::parse(full);
    const auto* second = f.find_tensor("second");
    const std::size_t needed = f.data_offset() + second->offset + second->n_bytes;
    for (std::size_t len = 0; len < full.size(); ++len) {
        std::vector<std::byte> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
        if (len < needed) {
            EXPECT_THROW((void)gguf_file::parse(cut), sluice::error) << "prefix of " << len << " bytes";
        } else {
            EXPECT_NO_THROW((void)gguf_file::parse(cut)) << "only padding cut at " << len;
        }
    }
}

TEST(gguf_hostile, bad_magic_and_old_versions) {
    auto b = sample();
    b[0] = std::byte{'X'};
    expect_rejected(b, "bad magic");
    b = sample();
    patch<std::uint32_t>(b, 4, 1);
    expect_rejected(b, "version 1 is not supported");
    patch<std::uint32_t>(b, 4, 7);
    expect_rejected(b, "unsupported GGUF version 7");
}

TEST(gguf_hostile, oversized_counts_are_refused_before_allocating) {
    auto b = sample();
    patch<std::uint64_t>(b, 8, 1ull << 60);  // tensor count
    expect_rejected(b, "tensor count");
    b = sample();
    patch<std::uint64_t>(b, 16, 1ull << 60);  // metadata count
    expect_rejected(b, "metadata count");
}

TEST(gguf_hostile, oversized_string_and_array_lengths) {
    auto b = sample();
    // The length prefix of the value of general.architecture ("llama").
    const std::size_t value_len_at = after_string(b, "general.architecture") + 4;
    patch<std::uint64_t>(b, value_len_at, 1ull << 40);
    expect_rejected(b, "exceeds");
    b = sample();
    const std::size_t count_at = after_string(b, "tokenizer.ggml.tokens") + 4 + 4;
    patch<std::uint64_t>(b, count_at, 1ull << 62);
    expect_rejected(b, "exceeds the file size");
}

TEST(gguf_hostile, unknown_value_and_tensor_types) {
    auto b = sample();
    patch<std::uint32_t>(b, after_string(b, "llama.block_count"), 99);
    expect_rejected(b, "unknown value type 99");
    b = sample();
    patch<std::uint32_t>(b, after_string(b, "tokenizer.ggml.tokens") + 4, 42);
    expect_rejected(b, "unknown array element type 42");
    b = sample();
    // tensor info: name, n_dims (4), dims (8 each), type (4), offset (8)
    patch<std::uint32_t>(b, after_string(b, "first") + 4 + 8, 4);  // Q4_2, removed from ggml
    expect_rejected(b, "unknown ggml type 4");
}

TEST(gguf_hostile, bad_dimensions) {
    auto b = sample();
    patch<std::uint32_t>(b, after_string(b, "first"), 9);
    expect_rejected(b, "dimensions (1-4 allowed)");
    b = sample();
    patch<std::uint64_t>(b, after_string(b, "first") + 4, 1ull << 62);  // element count overflow
    expect_rejected(b, "invalid dimensions");
    b = sample();
    patch<std::uint32_t>(b, after_string(b, "first") + 4 + 8, 2);  // Q4_0 needs rows of 32
    expect_rejected(b, "multiple of the block size");
}

TEST(gguf_hostile, misaligned_overlapping_and_out_of_file_offsets) {
    auto b = sample();
    const std::size_t off_at = after_string(b, "second") + 4 + 8 + 4;
    patch<std::uint64_t>(b, off_at, 65);
    expect_rejected(b, "not aligned");
    patch<std::uint64_t>(b, off_at, 32);  // inside "first" (64 bytes at offset 0)
    expect_rejected(b, "overlap");
    patch<std::uint64_t>(b, off_at, 1ull << 40);
    expect_rejected(b, "extends past the end");
}

TEST(gguf_hostile, duplicate_keys_and_tensor_names) {
    gguf_writer w;
    w.add_u32("dup", 1);
    w.add_u32("dup", 2);
    expect_rejected(w.bytes(), "duplicate metadata key 'dup'");
    gguf_writer t;
    t.add_tensor("same", ggml_type::f32, {8}, f32_bytes(8));
    t.add_tensor("same", ggml_type::f32, {8}, f32_bytes(8));
    expect_rejected(t.bytes(), "duplicate tensor name 'same'");
}

TEST(gguf_hostile, bad_bool_and_alignment_values) {
    auto b = sample();
    gguf_writer w;
    w.add_bool("flag", true);
    auto bb = w.bytes();
    patch<std::uint8_t>(bb, after_string(bb, "flag") + 4, 7);
    expect_rejected(bb, "neither 0 nor 1");
    gguf_writer a;
    a.add_u32("general.alignment", 48);
    expect_rejected(a.bytes(), "power of two");
}

TEST(gguf_hostile, deeply_nested_arrays_are_refused) {
    // Hand-built: one key whose value is an array of arrays nested 20 deep.
    std::vector<std::byte> b;
    auto put = [&](const void* p, std::size_t n) {
        const std::size_t at = b.size();
        b.resize(at + n);
        std::memcpy(b.data() + at, p, n);
    };
    const std::uint32_t magic = 0x46554747, version = 3, t_array = 9, t_u8 = 0;
    const std::uint64_t zero = 0, one = 1, keylen = 1;
    put(&magic, 4);
    put(&version, 4);
    put(&zero, 8);
    put(&one, 8);
    put(&keylen, 8);
    put("k", 1);
    put(&t_array, 4);
    for (int i = 0; i < 20; ++i) {
        put(&t_array, 4);
        put(&one, 8);
    }
    put(&t_u8, 4);
    put(&zero, 8);
    expect_rejected(b, "nested too deeply");
}

TEST(gguf_hostile, empty_input) { expect_rejected({}, "bad magic"); }

}  // namespace
