// A description of a GGUF file for `sluice inspect`: everything is computed from
// the metadata and tensor table; nothing is dequantised.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "sluice/model/gguf_file.hpp"
#include "sluice/model/hparams.hpp"

namespace sluice::app {

struct model_summary {
    std::string path;
    std::uint64_t file_size = 0;
    std::uint32_t gguf_version = 0;
    std::string architecture;
    std::string name;
    std::optional<model::hyper_params> hparams;
    std::string hparams_error;  // why hparams is empty (e.g. a vocab-only file)
    std::string tokenizer_kind; // "SPM", "BPE", "WPM", or "" when absent/unsupported
    std::string tokenizer_model, tokenizer_pre, tokenizer_error;
    std::uint64_t vocab_size = 0;
    bool has_chat_template = false;
    std::uint64_t tensor_count = 0;
    std::uint64_t parameter_count = 0;
    std::map<std::string, std::uint64_t> tensor_types;  // ggml type name -> tensor count
};

model_summary summarize(const model::gguf_file& file);
boost::json::object to_json(const model_summary& s);
std::string to_text(const model_summary& s);

}  // namespace sluice::app
