// sluice: a local, OpenAI-compatible LLM inference server. This file only
// dispatches to the sub-commands and turns escaped exceptions into exit codes.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "sluice/util/error.hpp"

namespace {

constexpr const char* k_usage =
    "usage: sluice <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [-m MODEL.gguf] [--host H] [--port P] [--api-key KEY] ...\n"
    "                                             serve the OpenAI-compatible API\n"
    "  status [--url URL] [--api-key KEY]         is a server up, which model, is the key accepted\n"
    "  inspect MODEL.gguf [--json] [--metadata]   describe a GGUF model file\n"
    "  tokenize -m MODEL.gguf [--raw|--no-add-special]\n"
    "                                             print the token ids of stdin's text\n"
    "  run -m MODEL.gguf -p PROMPT [-n N] [--temp T] [--seed S] [--json] ...\n"
    "                                             generate a completion\n"
    "  score -m MODEL.gguf --ids \"ID ...\" [--top-logprobs K]\n"
    "                                             next-token log-probabilities after each prefix\n"
    "  template (-m MODEL.gguf | --template FILE) --context CONTEXT.json [--date YYYY-MM-DD]\n"
    "                                             render a chat template\n"
    "  grammar (--gbnf FILE | --json-schema FILE) [--check TEXT|-] [-m MODEL.gguf]\n"
    "                                             print a grammar as GBNF, check a text against it\n"
    "\n"
    "Run 'sluice <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fputs(k_usage, stderr);
        return 2;
    }
    const std::string_view cmd = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    try {
        if (cmd == "inspect") return sluice::app::run_inspect(args);
        if (cmd == "tokenize") return sluice::app::run_tokenize(args);
        if (cmd == "run") return sluice::app::run_generate(args);
        if (cmd == "score") return sluice::app::run_score(args);
        if (cmd == "template") return sluice::app::run_template(args);
        if (cmd == "serve") return sluice::app::run_serve(args);
        if (cmd == "status") return sluice::app::run_status(args);
        if (cmd == "grammar") return sluice::app::run_grammar(args);
        if (cmd == "--help" || cmd == "-h" || cmd == "help") {
            std::fputs(k_usage, stdout);
            return 0;
        }
        if (cmd == "--version") {
            std::puts("sluice 0.1.0");
            return 0;
        }
        std::fprintf(stderr, "sluice: unknown command '%s'\n\n%s", argv[1], k_usage);
        return 2;
    } catch (const sluice::error& e) {
        std::fprintf(stderr, "sluice: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sluice: error: %s\n", e.what());
        return 1;
    }
}
