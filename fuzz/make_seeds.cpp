// Generates the GGUF seeds in fuzz/corpus/gguf_reader/: small valid files of every
// shape the reader handles plus classic malformed ones. Run once; output is committed.
//   fuzz_make_seeds fuzz/corpus/gguf_reader
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "sluice/model/gguf_writer.hpp"
#include "support/tiny_vocabs.hpp"

namespace {

void save(const std::filesystem::path& dir, const char* name, const std::vector<std::byte>& b) {
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
        return 2;
    }
    using namespace sluice::model;
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    save(dir, "tiny_spm_vocab.seed", sluice::test::tiny_spm_vocab());
    save(dir, "tiny_bpe_vocab.seed", sluice::test::tiny_bpe_vocab());
    gguf_writer w;
    w.add_string("general.architecture", "llama");
    w.add_u32("llama.context_length", 128);
    w.add_u32("llama.embedding_length", 32);
    w.add_u32("llama.block_count", 1);
    w.add_u32("llama.feed_forward_length", 64);
    w.add_u32("llama.attention.head_count", 4);
    w.add_f32("llama.rope.freq_base", 10000.0f);
    w.add_tensor("token_embd.weight", ggml_type::q8_0, {32, 2}, std::vector<std::byte>(2 * 34));
    w.add_tensor("output_norm.weight", ggml_type::f32, {32}, std::vector<std::byte>(128));
    auto model = w.bytes();
    save(dir, "tiny_model.seed", model);
    auto v1 = model;
    const std::uint32_t one = 1;
    std::memcpy(v1.data() + 4, &one, 4);
    save(dir, "version1.seed", v1);
    save(dir, "truncated_header.seed", std::vector<std::byte>(model.begin(), model.begin() + 30));
    gguf_writer aligned(64);
    aligned.add_tensor("a", ggml_type::f16, {4}, std::vector<std::byte>(8));
    save(dir, "alignment64.seed", aligned.bytes());
    return 0;
}
