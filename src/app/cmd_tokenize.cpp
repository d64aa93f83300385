// `sluice tokenize -m MODEL [--raw | --no-add-special]`: stdin text -> one line of ids.
//   default           BOS/EOS added per metadata, special-token text parsed (llama-server's
//                     handling of raw prompts)
//   --no-add-special  special-token text parsed, nothing added
//   --raw             nothing added, special-token text not parsed (plain text)
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli_options.hpp"
#include "commands.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/model/gguf_file.hpp"

namespace sluice::app {

int run_tokenize(const std::vector<std::string>& args) {
    po::options_description desc("tokenize options");
    desc.add_options()("help,h", "show this help")
        ("model,m", po::value<std::string>()->required(), "GGUF model (or vocab-only) file")
        ("raw", "add no BOS/EOS and do not parse special-token text")
        ("no-add-special", "parse special-token text but add no BOS/EOS");
    po::positional_options_description pos;
    po::variables_map vm;
    if (!parse_options("usage: sluice tokenize -m MODEL.gguf [--raw|--no-add-special] < text", desc, pos, args, vm)) {
        return 0;
    }
    const bool raw = vm.count("raw") != 0;
    const bool add_special = !raw && vm.count("no-add-special") == 0;
    const auto file = model::gguf_file::open(vm["model"].as<std::string>());
    const auto tok = engine::tokenizer::from_gguf(file);

    std::ostringstream buf;
    buf << std::cin.rdbuf();
    const auto ids = tok.tokenize(buf.str(), add_special, !raw);
    std::string line;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ' ';
        line += std::to_string(ids[i]);
    }
    std::cout << line << '\n';
    return 0;
}

}  // namespace sluice::app
