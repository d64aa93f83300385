// Writes a servable GGUF shaped like SmolLM2-135M (n_embd 576, 30 layers, 9 heads / 3 KV
// heads, ff 1536, vocab 49152) or, with `1b`, like Llama-3.2-1B (n_embd 2048, 16 layers,
// 32 / 8 heads, ff 8192, vocab 128256), with random weights quantised by sluice itself,
// a 32768-token trained context, and the tokenizer (and chat template) copied from another
// GGUF with a vocabulary of that size (../shared/models/smollm2-Q8_0.gguf, llama3-Q6_K.gguf).
// (f16: the source llama.cpp's llama-quantize turns into any type, as
// bench/compare_llama_cpp.sh does.) It is the model the server benchmarks load: the speed depends on shapes and types, not
// on what the weights say.
//
//   build/bench/make_served_model OUT.gguf TOKENIZER_FROM.gguf [q4_0|q8_0|f16] [smollm2|1b] [LAYERS]
//
// LAYERS: keep only the shape's first LAYERS layers. The weights come from one seeded stream
// in file order (embeddings first, then layer by layer), so such a model is the full one cut
// after LAYERS layers -- a layer-truncated draft model for it (bench/spec_bench --model-draft).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "sluice/model/gguf_file.hpp"
#include "support/synthetic_model.hpp"

namespace {

using namespace sluice;

std::vector<std::string> strings_of(const model::gguf_value& v, const std::string& key) {
    std::vector<std::string> out;
    for (const auto s : v.string_array(key)) out.emplace_back(s);
    return out;
}

// Copies one tokenizer.* entry; the value kinds tokenizer metadata uses.
void copy_entry(model::gguf_writer& w, const std::string& key, const model::gguf_value& v) {
    using model::gguf_type;
    switch (v.type()) {
        case gguf_type::string: w.add_string(key, std::string(v.as_string(key))); return;
        case gguf_type::boolean: w.add_bool(key, v.as_bool(key)); return;
        case gguf_type::float32:
        case gguf_type::float64: w.add_f32(key, static_cast<float>(v.as_double(key))); return;
        case gguf_type::int8:
        case gguf_type::int16:
        case gguf_type::int32:
        case gguf_type::int64: w.add_i32(key, static_cast<std::int32_t>(v.as_int(key))); return;
        case gguf_type::array: {
            const auto& a = v.as_array(key);
            if (a.element_type == gguf_type::string) {
                w.add_strings(key, strings_of(v, key));
            } else if (a.element_type == gguf_type::float32 || a.element_type == gguf_type::float64) {
                std::vector<float> f;
                for (const double d : v.double_array(key)) f.push_back(static_cast<float>(d));
                w.add_f32s(key, f);
            } else {
                std::vector<std::int32_t> n;
                for (const auto i : v.int_array(key)) n.push_back(static_cast<std::int32_t>(i));
                w.add_i32s(key, n);
            }
            return;
        }
        default: w.add_u32(key, static_cast<std::uint32_t>(v.as_uint(key))); return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3 || argc > 6) {
        std::fprintf(stderr, "usage: make_served_model OUT.gguf TOKENIZER_FROM.gguf [q4_0|q8_0|f16] [smollm2|1b] [LAYERS]\n");
        return 2;
    }
    const std::string type_name = argc >= 4 ? argv[3] : "q4_0";
    const std::string shape_name = argc >= 5 ? argv[4] : "smollm2";
    const int layers = argc == 6 ? std::atoi(argv[5]) : 0;
    if (type_name != "q4_0" && type_name != "q8_0" && type_name != "f16") {
        std::fprintf(stderr, "make_served_model: type must be q4_0, q8_0 or f16\n");
        return 2;
    }
    if (shape_name != "smollm2" && shape_name != "1b") {
        std::fprintf(stderr, "make_served_model: shape must be smollm2 or 1b\n");
        return 2;
    }
    try {
        const auto source = model::gguf_file::open(argv[2]);
        test::model_shape shape;
        if (shape_name == "1b") shape = {2048, 16, 32, 8, 8192, 128256};
        if (argc == 6) {
            if (layers < 1 || static_cast<std::uint32_t>(layers) > shape.n_layer) {
                std::fprintf(stderr, "make_served_model: LAYERS must be 1..%u\n", shape.n_layer);
                return 2;
            }
            shape.n_layer = static_cast<std::uint32_t>(layers);
        }
        shape.n_ctx_train = 32768;
        const auto tokens = source.find("tokenizer.ggml.tokens");
        if (tokens == nullptr || tokens->as_array("tokenizer.ggml.tokens").count != shape.n_vocab) {
            std::fprintf(stderr, "make_served_model: %s needs a %u-token vocabulary\n", argv[2], shape.n_vocab);
            return 1;
        }
        const auto type = type_name == "q4_0"   ? kernels::ggml_type::q4_0
                          : type_name == "q8_0" ? kernels::ggml_type::q8_0
                                                : kernels::ggml_type::f16;
        const auto bytes = test::synthetic_llama(shape, type, 42, "llama", [&](model::gguf_writer& w) {
            for (const auto& kv : source.metadata()) {
                if (kv.key.starts_with("tokenizer.")) copy_entry(w, std::string(kv.key), kv.value);
            }
        });
        std::ofstream out(argv[1], std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!out) throw std::runtime_error(std::string("cannot write ") + argv[1]);
        std::printf("wrote %s (%s, %.1f MiB)\n", argv[1], type_name.c_str(), static_cast<double>(bytes.size()) / (1 << 20));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_served_model: %s\n", e.what());
        return 1;
    }
    return 0;
}
