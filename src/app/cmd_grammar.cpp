// `sluice grammar`: compile a GBNF grammar or a JSON Schema, print it as GBNF, check a text
// against it, and report token-mask statistics over a model's vocabulary.
//
//   sluice grammar (--gbnf FILE | --json-schema FILE) [--root NAME]
//                  [--check TEXT_FILE|-] [-m MODEL.gguf]
//
// Without --check the grammar is printed as GBNF. With --check the exit status is 0 when the
// whole text is a complete sentence of the grammar, 1 when it is rejected (the byte offset
// where it failed is printed), 2 for a bad grammar, schema or flag. A JSON Schema is compiled
// for checking: bounded whitespace between tokens and properties in any order (the profile
// for existing JSON text); printed, it is the compact profile generation uses.
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_options.hpp"
#include "commands.hpp"
#include "sluice/engine/token_constraint.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/grammar/json_schema.hpp"
#include "sluice/grammar/matcher.hpp"
#include "sluice/model/gguf_file.hpp"

namespace sluice::app {

namespace {

using clock_type = std::chrono::steady_clock;

std::string read_input(const std::string& path) {
    std::ostringstream buf;
    if (path == "-") {
        buf << std::cin.rdbuf();
        return buf.str();
    }
    std::ifstream f(path, std::ios::binary);
    if (!f) throw error(errc::io, "cannot open '" + path + "'");
    buf << f.rdbuf();
    return buf.str();
}

std::size_t count_bits(const std::vector<std::uint32_t>& mask) {
    std::size_t n = 0;
    for (auto w : mask) n += static_cast<std::size_t>(__builtin_popcount(w));
    return n;
}

// Line and column (1-based, in bytes) of `offset` in `text`, for messages.
std::string position_of(std::string_view text, std::size_t offset) {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

int check_text(const std::shared_ptr<const grammar::grammar>& g, const std::string& text) {
    grammar::matcher m(g, std::make_shared<grammar::token_vocabulary>(std::vector<std::string>{}, std::vector<std::int32_t>{},
                                                                       std::vector<std::int32_t>{}));
    std::size_t ok = m.accepted_prefix(text);
    if (ok < text.size()) {
        std::printf("rejected at byte %zu (%s)\n", ok, position_of(text, ok).c_str());
        return 1;
    }
    m.accept_bytes(text);
    if (!m.is_complete()) {
        std::string expected = m.forced_bytes();
        std::printf("rejected at byte %zu (%s): the text ends before the grammar does%s%s\n", text.size(),
                    position_of(text, text.size()).c_str(), expected.empty() ? "" : "; expected next: ", expected.c_str());
        return 1;
    }
    std::printf("accepted (%zu bytes)\n", text.size());
    return 0;
}

void mask_statistics(const std::shared_ptr<const grammar::grammar>& g, const std::string& model_path, const std::string* text) {
    auto file = model::gguf_file::open(model_path);
    auto tok = engine::tokenizer::from_gguf(file);
    auto t0 = clock_type::now();
    auto vocab = engine::grammar_vocabulary(tok);
    double vocab_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    grammar::matcher m(g, vocab);
    std::vector<std::uint32_t> mask;
    t0 = clock_type::now();
    m.fill_mask(mask);
    double first_us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
    std::printf("vocabulary: %zu tokens (index built in %.1f ms)\n", vocab->size(), vocab_ms);
    std::printf("at the start: %zu tokens allowed, forced bytes \"%s\", first mask %.1f us\n", count_bits(mask),
                m.forced_bytes().c_str(), first_us);
    if (text == nullptr) return;
    auto ids = tok.tokenize(*text, false, false);
    std::vector<double> us;
    std::size_t allowed_sum = 0, forced = 0;
    bool ok = true;
    for (auto id : ids) {
        if (!m.forced_bytes().empty()) ++forced;
        t0 = clock_type::now();
        m.fill_mask(mask);
        us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
        allowed_sum += count_bits(mask);
        if (!m.accept_token(id)) {
            ok = false;
            break;
        }
    }
    if (us.empty()) return;
    double total = 0;
    for (double x : us) total += x;
    std::sort(us.begin(), us.end());
    std::printf("walking the text's %zu tokens%s: mask avg %.1f us, p50 %.1f us, max %.1f us; %.0f tokens allowed on average; "
                "%zu positions with forced bytes\n",
                ids.size(), ok ? "" : " (stopped: the model's tokenization leaves the grammar)", total / static_cast<double>(us.size()),
                us[us.size() / 2], us.back(), static_cast<double>(allowed_sum) / static_cast<double>(us.size()), forced);
}

}  // namespace

int run_grammar(const std::vector<std::string>& args) {
    po::options_description desc("grammar options");
    desc.add_options()("help,h", "show this help")
        ("gbnf", po::value<std::string>(), "GBNF grammar file (llama.cpp dialect)")
        ("json-schema", po::value<std::string>(), "JSON Schema file")
        ("root", po::value<std::string>()->default_value("root"), "start rule of a GBNF grammar")
        ("check", po::value<std::string>(), "text file to check ('-' for stdin): exit 0 accepted, 1 rejected")
        ("model,m", po::value<std::string>(), "GGUF model (or vocab-only) file: print token-mask statistics");
    po::positional_options_description pos;
    po::variables_map vm;
    const std::string usage =
        "usage: sluice grammar (--gbnf FILE | --json-schema FILE) [--root NAME] [--check TEXT_FILE|-] [-m MODEL.gguf]";
    if (!parse_options(usage, desc, pos, args, vm)) return 0;
    if ((vm.count("gbnf") != 0) == (vm.count("json-schema") != 0)) {
        throw error(errc::invalid_argument, "give exactly one of --gbnf and --json-schema\n" + usage);
    }
    const bool checking = vm.count("check") != 0;
    std::string gbnf;
    std::string root = vm["root"].as<std::string>();
    std::shared_ptr<const grammar::grammar> g;
    try {
        if (vm.count("gbnf")) {
            gbnf = read_input(vm["gbnf"].as<std::string>());
        } else {
            boost::system::error_code ec;
            auto schema = boost::json::parse(read_input(vm["json-schema"].as<std::string>()), ec);
            if (ec) throw error(errc::invalid_format, "the schema is not JSON: " + ec.message());
            gbnf = grammar::compile_json_schema(schema, checking ? grammar::schema_options::for_checking() : grammar::schema_options{});
            root = "root";
        }
        g = grammar::parse_gbnf(gbnf, root);
    } catch (const grammar::schema_error& e) {
        std::fprintf(stderr, "sluice: schema refused: %s\n", e.what());
        return 2;
    } catch (const error& e) {
        std::fprintf(stderr, "sluice: %s\n", e.what());
        return 2;
    }
    int status = 0;
    std::string text;
    if (checking) {
        text = read_input(vm["check"].as<std::string>());
        status = check_text(g, text);
    } else {
        std::fputs(vm.count("gbnf") ? g->to_gbnf().c_str() : gbnf.c_str(), stdout);
    }
    if (vm.count("model")) mask_statistics(g, vm["model"].as<std::string>(), checking ? &text : nullptr);
    return status;
}

}  // namespace sluice::app
