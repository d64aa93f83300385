#include "model_summary.hpp"

#include <cstdio>
#include <sstream>

#include "sluice/engine/vocab.hpp"
#include "sluice/util/error.hpp"

namespace sluice::app {
namespace {

std::string human_count(std::uint64_t n) {
    char buf[32];
    if (n >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
    else if (n >= 1'000'000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
    else if (n >= 1'000) std::snprintf(buf, sizeof buf, "%.2fK", n / 1e3);
    else std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
    return buf;
}

std::string human_bytes(std::uint64_t n) {
    char buf[32];
    if (n >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", n / double(1ull << 30));
    else if (n >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", n / double(1ull << 20));
    else std::snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
    return buf;
}

}  // namespace

model_summary summarize(const model::gguf_file& f) {
    model_summary s;
    s.path = f.source();
    s.file_size = f.file_size();
    s.gguf_version = f.version();
    s.architecture = std::string(model::find_string(f, "general.architecture").value_or(""));
    s.name = std::string(model::find_string(f, "general.name").value_or(""));
    try {
        s.hparams = model::read_hyper_params(f);
    } catch (const error& e) {
        s.hparams_error = e.what();
    }
    s.tokenizer_model = std::string(model::find_string(f, "tokenizer.ggml.model").value_or(""));
    s.tokenizer_pre = std::string(model::find_string(f, "tokenizer.ggml.pre").value_or(""));
    if (const auto* toks = f.find("tokenizer.ggml.tokens")) s.vocab_size = toks->as_array("tokenizer.ggml.tokens").count;
    if (!s.tokenizer_model.empty()) {
        try {
            s.tokenizer_kind = std::string(engine::name_of(engine::vocab::from_gguf(f).kind()));
        } catch (const error& e) {
            s.tokenizer_error = e.what();
        }
    }
    s.has_chat_template = f.find("tokenizer.chat_template") != nullptr;
    s.tensor_count = f.tensors().size();
    for (const auto& t : f.tensors()) {
        s.parameter_count += t.n_elements();
        ++s.tensor_types[std::string(model::name_of(t.type))];
    }
    return s;
}

boost::json::object to_json(const model_summary& s) {
    namespace json = boost::json;
    json::object o;
    o["path"] = s.path;
    o["file_size"] = s.file_size;
    o["gguf_version"] = s.gguf_version;
    o["architecture"] = s.architecture;
    o["name"] = s.name;
    if (s.hparams) {
        const auto& h = *s.hparams;
        o["hyper_parameters"] = json::object{
            {"context_length", h.n_ctx_train}, {"embedding_length", h.n_embd}, {"block_count", h.n_layer},
            {"feed_forward_length", h.n_ff}, {"head_count", h.n_head}, {"head_count_kv", h.n_head_kv},
            {"key_length", h.head_dim_k}, {"value_length", h.head_dim_v}, {"rope_dimension_count", h.n_rot},
            {"rope_freq_base", h.rope_freq_base}, {"rms_epsilon", h.rms_eps},
            {"rope_scaling_type", h.rope_scaling_type}, {"vocab_size", h.n_vocab}};
    } else {
        o["hyper_parameters"] = nullptr;
        o["hyper_parameters_error"] = s.hparams_error;
    }
    json::object tok{{"model", s.tokenizer_model}, {"pre", s.tokenizer_pre}, {"kind", s.tokenizer_kind},
                     {"vocab_size", s.vocab_size}};
    if (!s.tokenizer_error.empty()) tok["error"] = s.tokenizer_error;
    o["tokenizer"] = std::move(tok);
    o["chat_template"] = s.has_chat_template;
    o["tensor_count"] = s.tensor_count;
    o["parameter_count"] = s.parameter_count;
    json::object types;
    for (const auto& [k, v] : s.tensor_types) types[k] = v;
    o["tensor_types"] = std::move(types);
    return o;
}

std::string to_text(const model_summary& s) {
    std::ostringstream os;
    os << "file:            " << s.path << " (" << human_bytes(s.file_size) << ", GGUF v" << s.gguf_version << ")\n";
    os << "architecture:    " << (s.architecture.empty() ? "(none)" : s.architecture) << "\n";
    os << "name:            " << (s.name.empty() ? "(none)" : s.name) << "\n";
    if (s.hparams) {
        const auto& h = *s.hparams;
        os << "context length:  " << h.n_ctx_train << "\n"
           << "embedding:       " << h.n_embd << "\n"
           << "layers:          " << h.n_layer << "\n"
           << "feed-forward:    " << h.n_ff << "\n"
           << "heads:           " << h.n_head << " (KV " << h.n_head_kv << ", head dim " << h.head_dim_k << ")\n"
           << "rope:            base " << h.rope_freq_base << ", dims " << h.n_rot
           << (h.rope_scaling_type.empty() ? "" : ", scaling " + h.rope_scaling_type) << "\n"
           << "rms epsilon:     " << h.rms_eps << "\n";
    } else {
        os << "hyper-params:    unavailable (" << s.hparams_error << ")\n";
    }
    os << "tokenizer:       ";
    if (s.tokenizer_model.empty()) {
        os << "(none)\n";
    } else {
        os << (s.tokenizer_kind.empty() ? "unsupported" : s.tokenizer_kind) << " (model '" << s.tokenizer_model << "'"
           << (s.tokenizer_pre.empty() ? "" : ", pre '" + s.tokenizer_pre + "'") << "), " << s.vocab_size << " tokens\n";
        if (!s.tokenizer_error.empty()) os << "                 " << s.tokenizer_error << "\n";
    }
    os << "chat template:   " << (s.has_chat_template ? "yes" : "no") << "\n";
    os << "tensors:         " << s.tensor_count << ", " << human_count(s.parameter_count) << " parameters\n";
    for (const auto& [k, v] : s.tensor_types) os << "  " << k << ": " << v << "\n";
    return os.str();
}

}  // namespace sluice::app
