// `sluice template (-m MODEL | --template FILE) --context CONTEXT.json [--date YYYY-MM-DD]`:
// prints the rendered prompt exactly (no newline added); exits 1 with the template's
// error when it raises. With -m the model's template is rendered as the server would
// (bos/eos from the vocabulary, a rendered BOS dropped when the tokenizer adds one).
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_options.hpp"
#include "commands.hpp"
#include "sluice/chat/chat_template.hpp"
#include "sluice/engine/vocab.hpp"
#include "sluice/util/error.hpp"

namespace sluice::app {
namespace {

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw error(errc::io, "cannot read '" + path + "'");
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// A template file is the template text, or a JSON object whose "source" is (as in
// ../shared/templates).
std::string template_source(const std::string& path) {
    std::string text = read_text(path);
    boost::system::error_code ec;
    const auto j = boost::json::parse(text, ec);
    if (!ec && j.is_object() && j.as_object().contains("source") && j.at("source").is_string()) {
        return std::string(j.at("source").as_string());
    }
    return text;
}

std::tm parse_date(const std::string& s) {
    std::tm t{};
    int y = 0, m = 0, d = 0;
    if (std::sscanf(s.c_str(), "%d-%d-%d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31) {
        throw error(errc::invalid_argument, "--date: expected YYYY-MM-DD, got '" + s + "'");
    }
    t.tm_year = y - 1900;
    t.tm_mon = m - 1;
    t.tm_mday = d;
    t.tm_hour = 12;
    std::tm copy = t;
    timegm(&copy);  // fills in the weekday and day of the year
    t.tm_wday = copy.tm_wday;
    t.tm_yday = copy.tm_yday;
    return t;
}

}  // namespace

int run_template(const std::vector<std::string>& args) {
    po::options_description desc("template options");
    desc.add_options()("help,h", "show this help")
        ("model,m", po::value<std::string>(), "render this model's chat template")
        ("template", po::value<std::string>(), "template file (text, or JSON with a \"source\" string)")
        ("context", po::value<std::string>()->required(), "JSON object: messages, tools, add_generation_prompt, ...")
        ("date", po::value<std::string>(), "the date strftime_now sees (YYYY-MM-DD; default today)");
    po::positional_options_description pos;
    po::variables_map vm;
    if (!parse_options("usage: sluice template (-m MODEL.gguf | --template FILE) --context CONTEXT.json", desc, pos, args, vm)) return 0;
    if (vm.count("model") == vm.count("template")) throw error(errc::invalid_argument, "give exactly one of -m MODEL and --template FILE");

    boost::system::error_code ec;
    const auto ctx = boost::json::parse(read_text(vm["context"].as<std::string>()), ec);
    if (ec || !ctx.is_object()) throw error(errc::invalid_argument, "--context: the file is not a JSON object");
    chat::render_options opt;
    if (vm.count("date")) opt.fixed_time = parse_date(vm["date"].as<std::string>());

    std::string out;
    try {
        if (vm.count("model")) {
            const auto file = model::gguf_file::open(vm["model"].as<std::string>());
            const auto vocab = engine::vocab::from_gguf(file);
            out = chat::chat_template::for_model(file, vocab).render(ctx.as_object(), opt);
        } else {
            const auto tmpl = chat::jinja_template::parse(template_source(vm["template"].as<std::string>()));
            out = tmpl.render(chat::value::from_json(ctx), opt);
        }
    } catch (const chat::template_error& e) {
        std::fprintf(stderr, "sluice: template error: %s\n", e.what());
        return 1;
    }
    std::cout << out << std::flush;
    return 0;
}

}  // namespace sluice::app
