// Fuzzes the GGUF reader on arbitrary bytes, then everything that reads parsed
// metadata: hyper-parameters, vocabulary and tokenizer construction. The only
// exception allowed out of them is sluice::error.
#include <string>

#include "fuzz_target.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/model/gguf_file.hpp"
#include "sluice/model/hparams.hpp"
#include "sluice/util/error.hpp"
#include "sluice/util/log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sluice;
    log::set_level(log::level::off);
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    try {
        const auto f = model::gguf_file::parse(bytes, "fuzz");
        std::size_t sink = 0;
        for (const auto& kv : f.metadata()) sink += kv.value.to_display(4).size();
        for (const auto& t : f.tensors()) sink += t.n_bytes + t.n_elements();
        try {
            (void)model::read_hyper_params(f);
        } catch (const error&) {
        }
        try {
            const auto tok = engine::tokenizer::from_gguf(f);
            const auto ids = tok.tokenize("Hello <s> world \xF0\x9F\x9A\x80 123", true, true);
            sink += tok.detokenize(ids, false, true).size();
        } catch (const error&) {
        }
        (void)sink;
    } catch (const error&) {
    }
    return 0;
}
