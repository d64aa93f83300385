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

}  // namespace
