// `sluice inspect MODEL.gguf [--json] [--metadata]`: describe a model file. A file
// that is not valid GGUF makes the command fail with the reader's error.
#include <boost/json/serialize.hpp>
#include <iostream>

#include "cli_options.hpp"
#include "commands.hpp"
#include "model_summary.hpp"

namespace sluice::app {

int run_inspect(const std::vector<std::string>& args) {
    po::options_description desc("inspect options");
    desc.add_options()("help,h", "show this help")
        ("model,m", po::value<std::string>()->required(), "GGUF file")
        ("json", "print one JSON object")
        ("metadata", "also list every metadata key (arrays abbreviated)");
    po::positional_options_description pos;
    pos.add("model", 1);
    po::variables_map vm;
    if (!parse_options("usage: sluice inspect MODEL.gguf [--json] [--metadata]", desc, pos, args, vm)) return 0;

    const auto file = model::gguf_file::open(vm["model"].as<std::string>());
    const auto summary = summarize(file);
    if (vm.count("json")) {
        auto o = to_json(summary);
        if (vm.count("metadata")) {
            boost::json::object md;
            for (const auto& kv : file.metadata()) md[kv.key] = kv.value.to_display(16);
            o["metadata"] = std::move(md);
        }
        std::cout << boost::json::serialize(o) << "\n";
        return 0;
    }
    std::cout << to_text(summary);
    if (vm.count("metadata")) {
        std::cout << "metadata:\n";
        for (const auto& kv : file.metadata()) std::cout << "  " << kv.key << " = " << kv.value.to_display(8) << "\n";
    }
    return 0;
}

}  // namespace sluice::app
