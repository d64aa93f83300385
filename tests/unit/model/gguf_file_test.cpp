#include "sluice/model/gguf_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "sluice/model/gguf_writer.hpp"
#include "sluice/util/error.hpp"
#include "support/gguf_bytes.hpp"

namespace {

using namespace sluice::model;
using sluice::test::f32_bytes;

std::vector<std::byte> sample_file() {
    gguf_writer w;
    w.add_string("general.architecture", "llama");
    w.add_u32("llama.block_count", 2);
    w.add_i32("some.negative", -7);
    w.add_f32("llama.rope.freq_base", 500000.0f);
    w.add_bool("tokenizer.ggml.add_bos_token", true);
    w.add_strings("tokenizer.ggml.tokens", {"<unk>", "a", "b", "\xE2\x96\x81" "ab"});
    w.add_f32s("tokenizer.ggml.scores", {0.0f, -1.0f, -2.0f, -0.5f});
    w.add_i32s("tokenizer.ggml.token_type", {2, 1, 1, 1});
    w.add_tensor("tensor.alpha", ggml_type::f32, {8, 2}, f32_bytes(16));
    w.add_tensor("tensor.beta", ggml_type::f32, {3}, f32_bytes(3, 100.0f));
    return w.bytes();
}

TEST(gguf_file, reads_header_metadata_and_tensors) {
    const auto bytes = sample_file();
    const auto f = gguf_file::parse(bytes);
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 32u);
    EXPECT_EQ(f.metadata().size(), 8u);
    EXPECT_EQ(f.get("general.architecture").as_string("k"), "llama");
    EXPECT_EQ(f.get("llama.block_count").as_uint("k"), 2u);
    EXPECT_EQ(f.get("some.negative").as_int("k"), -7);
    EXPECT_FLOAT_EQ(static_cast<float>(f.get("llama.rope.freq_base").as_double("k")), 500000.0f);
    EXPECT_TRUE(f.get("tokenizer.ggml.add_bos_token").as_bool("k"));
    const auto toks = f.get("tokenizer.ggml.tokens").string_array("k");
    ASSERT_EQ(toks.size(), 4u);
    EXPECT_EQ(toks[3], "\xE2\x96\x81" "ab");
    EXPECT_EQ(f.get("tokenizer.ggml.token_type").int_array("k"), (std::vector<std::int64_t>{2, 1, 1, 1}));
    EXPECT_EQ(f.get("tokenizer.ggml.scores").double_array("k")[1], -1.0);

    ASSERT_EQ(f.tensors().size(), 2u);
    const auto* beta = f.find_tensor("tensor.beta");
    ASSERT_NE(beta, nullptr);
    EXPECT_EQ(beta->n_elements(), 3u);
    EXPECT_EQ(beta->n_bytes, 12u);
    float first = 0;
    std::memcpy(&first, beta->data, 4);
    EXPECT_EQ(first, 100.0f);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(beta->data - reinterpret_cast<std::uintptr_t>(bytes.data())) % 32, 0u);
}

TEST(gguf_file, missing_key_error_names_the_key) {
    const auto bytes = sample_file();
    const auto f = gguf_file::parse(bytes);
    try {
        (void)f.get("llama.embedding_length");
        FAIL() << "expected an error";
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), sluice::errc::missing_key);
        EXPECT_NE(std::string(e.what()).find("llama.embedding_length"), std::string::npos);
    }
}

TEST(gguf_file, wrong_type_error_names_the_key) {
    const auto bytes = sample_file();
    const auto f = gguf_file::parse(bytes);
    try {
        (void)f.get("general.architecture").as_uint("general.architecture");
        FAIL() << "expected an error";
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), sluice::errc::wrong_type);
        EXPECT_NE(std::string(e.what()).find("general.architecture"), std::string::npos);
    }
    EXPECT_THROW((void)f.get("some.negative").as_uint("x"), sluice::error);
}

TEST(gguf_file, honours_general_alignment) {
    gguf_writer w(64);
    w.add_tensor("t", ggml_type::f32, {5}, f32_bytes(5));
    w.add_tensor("u", ggml_type::f32, {5}, f32_bytes(5));
    const auto bytes = w.bytes();
    const auto f = gguf_file::parse(bytes);
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.data_offset() % 64, 0u);
    EXPECT_EQ(f.find_tensor("u")->offset, 64u);
}

TEST(gguf_file, quantised_tensor_extent_uses_block_layout) {
    gguf_writer w;
    // Q4_K: 256 elements per 144-byte block; 2 rows of 512 -> 4 blocks.
    w.add_tensor("q", ggml_type::q4_k, {512, 2}, std::vector<std::byte>(4 * 144));
    const auto bytes = w.bytes();
    const auto f = gguf_file::parse(bytes);
    EXPECT_EQ(f.find_tensor("q")->n_bytes, 576u);
}

TEST(gguf_file, opens_a_file_through_mmap) {
    const auto path = std::filesystem::temp_directory_path() / "sluice_gguf_file_test.gguf";
    gguf_writer w;
    w.add_string("general.name", "mapped");
    w.write_file(path.string());
    const auto f = gguf_file::open(path.string());
    EXPECT_EQ(f.get("general.name").as_string("k"), "mapped");
    std::filesystem::remove(path);
    EXPECT_THROW((void)gguf_file::open((std::filesystem::temp_directory_path() / "does-not-exist.gguf").string()),
                 sluice::error);
}

TEST(ggml_type, every_type_has_a_block_layout) {
    EXPECT_EQ(traits_of(ggml_type::q8_0).type_size, 34u);
    EXPECT_EQ(traits_of(ggml_type::q6_k).type_size, 210u);
    EXPECT_EQ(traits_of(ggml_type::iq4_xs).type_size, 136u);
    EXPECT_EQ(traits_of(ggml_type::bf16).name, "BF16");
    EXPECT_FALSE(traits_of(4u).has_value());  // Q4_2 was removed from ggml
    EXPECT_FALSE(traits_of(1000u).has_value());
}

}  // namespace
