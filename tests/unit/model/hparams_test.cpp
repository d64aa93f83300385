#include "sluice/model/hparams.hpp"

#include <gtest/gtest.h>

#include "sluice/model/gguf_writer.hpp"
#include "sluice/util/error.hpp"

namespace {

using namespace sluice::model;

std::vector<std::byte> llama_like(bool with_embd) {
    gguf_writer w;
    w.add_string("general.architecture", "llama");
    w.add_u32("llama.context_length", 4096);
    if (with_embd) w.add_u32("llama.embedding_length", 576);
    w.add_u32("llama.block_count", 30);
    w.add_u32("llama.feed_forward_length", 1536);
    w.add_u32("llama.attention.head_count", 9);
    w.add_u32("llama.attention.head_count_kv", 3);
    w.add_f32("llama.rope.freq_base", 100000.0f);
    w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    w.add_strings("tokenizer.ggml.tokens", {"a", "b", "c"});
    return w.bytes();
}

TEST(hparams, reads_llama_hyper_parameters_with_defaults) {
    const auto b = llama_like(true);
    const auto f = gguf_file::parse(b);
    const auto hp = read_hyper_params(f);
    EXPECT_EQ(hp.architecture, "llama");
    EXPECT_EQ(hp.n_embd, 576u);
    EXPECT_EQ(hp.n_layer, 30u);
    EXPECT_EQ(hp.n_head, 9u);
    EXPECT_EQ(hp.n_head_kv, 3u);
    EXPECT_EQ(hp.head_dim_k, 64u);  // default n_embd / n_head
    EXPECT_EQ(hp.n_rot, 64u);
    EXPECT_FLOAT_EQ(hp.rope_freq_base, 100000.0f);
    EXPECT_EQ(hp.n_vocab, 3u);  // from the token list
}

TEST(hparams, missing_key_is_named) {
    const auto b = llama_like(false);
    const auto f = gguf_file::parse(b);
    try {
        (void)read_hyper_params(f);
        FAIL();
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), sluice::errc::missing_key);
        EXPECT_NE(std::string(e.what()).find("llama.embedding_length"), std::string::npos) << e.what();
    }
}

TEST(hparams, typed_getters_name_the_key_on_mismatch) {
    const auto b = llama_like(true);
    const auto f = gguf_file::parse(b);
    try {
        (void)get_u32(f, "general.architecture");
        FAIL();
    } catch (const sluice::error& e) {
        EXPECT_EQ(e.code(), sluice::errc::wrong_type);
        EXPECT_NE(std::string(e.what()).find("general.architecture"), std::string::npos);
    }
    EXPECT_FALSE(find_u32(f, "llama.nothing").has_value());
    EXPECT_EQ(arch_key("qwen2", "block_count"), "qwen2.block_count");
}

TEST(hparams, per_layer_keys_take_a_scalar_or_an_array) {
    gguf_writer w;
    w.add_string("general.architecture", "gemma4");
    w.add_u32("gemma4.context_length", 4096);
    w.add_u32("gemma4.embedding_length", 64);
    w.add_u32("gemma4.block_count", 4);
    w.add_u32s("gemma4.feed_forward_length", {128, 128, 256, 256});
    w.add_u32("gemma4.attention.head_count", 4);
    w.add_u32s("gemma4.attention.head_count_kv", {2, 1, 2, 1});
    const auto b = w.bytes();
    const auto f = gguf_file::parse(b);
    const auto hp = read_hyper_params(f);
    EXPECT_EQ(hp.n_ff_layer, (std::vector<std::uint32_t>{128, 128, 256, 256}));
    EXPECT_EQ(hp.n_head_kv_layer, (std::vector<std::uint32_t>{2, 1, 2, 1}));
    EXPECT_EQ(hp.n_ff, 256u);  // the largest
    EXPECT_EQ(hp.n_head_kv, 2u);

    const auto scalar = llama_like(true);
    const auto hs = read_hyper_params(gguf_file::parse(scalar));
    EXPECT_EQ(hs.n_ff_layer, std::vector<std::uint32_t>(30, 1536));
    EXPECT_EQ(hs.n_head_kv_layer, std::vector<std::uint32_t>(30, 3));

    gguf_writer bad;
    bad.add_string("general.architecture", "gemma4");
    bad.add_u32("gemma4.context_length", 4096);
    bad.add_u32("gemma4.embedding_length", 64);
    bad.add_u32("gemma4.block_count", 4);
    bad.add_u32s("gemma4.feed_forward_length", {128, 128, 256});  // one short
    bad.add_u32("gemma4.attention.head_count", 4);
    const auto bb = bad.bytes();
    try {
        (void)read_hyper_params(gguf_file::parse(bb));
        FAIL();
    } catch (const sluice::error& e) {
        EXPECT_NE(std::string(e.what()).find("gemma4.feed_forward_length"), std::string::npos) << e.what();
    }
}

}  // namespace
