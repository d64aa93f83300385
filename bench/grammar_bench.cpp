// Token-mask cost of the grammar layer over real vocabularies (Qwen2, 151,936 tokens, and
// Llama 3, 128,256), walking texts the grammar accepts: the text is tokenized with the
// model's tokenizer and fill_mask runs before every accept_token (and once more at the end,
// where EOG is allowed). Prints per vocabulary the mask time per token (average, p50, p99,
// max) and the compile time per grammar (JSON Schema -> GBNF -> automata).
//
//   build-grammar/bench/grammar_bench [--shared DIR] [--schemas N] [--only SUBSTR] [--verbose] [--wall]
//
// Grammars: a hand-written JSON grammar and a few others over fixed texts, then every schema
// in $SLUICE_SHARED/schemas/*.json (compact whitespace) along its valid instances (serialised
// compactly). Not part of ctest: shared machines are noisy; run it alone, one core.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#if SLUICE_HAS_JSON_SCHEMA
#include "support/json_gbnf.hpp"
#include "sluice/grammar/json_schema.hpp"
#endif
#include "sluice/grammar/matcher.hpp"
#include "sluice/model/gguf_file.hpp"
#include "unit/grammar/gguf_vocabulary.hpp"

namespace {

using namespace sluice;
using clock_type = std::chrono::steady_clock;

double micros(clock_type::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Mask times are this thread's CPU time: on a shared machine wall time mostly measures the
// other processes. (--wall switches to wall-clock time.)
bool g_wall = false;
double now_us() {
    if (g_wall) return micros(clock_type::now().time_since_epoch());
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct stats {
    std::vector<double> v;
    void add(double x) { v.push_back(x); }
    double pct(double p) {
        if (v.empty()) return 0;
        std::sort(v.begin(), v.end());
        auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
        return v[i];
    }
    double avg() const {
        double s = 0;
        for (double x : v) s += x;
        return v.empty() ? 0 : s / static_cast<double>(v.size());
    }
};

struct case_text {
    std::string name;
    std::string gbnf;
    std::vector<std::string> texts;
    double compile_us = 0;
};

constexpr const char* k_json_gbnf = sluice::test::k_json_gbnf;

std::vector<case_text> builtin_cases() {
    std::vector<case_text> out;
    out.push_back({"json (hand-written GBNF)", k_json_gbnf,
                   {R"({"name": "Ada Lovelace", "born": 1815, "tags": ["math", "poetry"], "notes": "Wrote the first program; \"Note G\" computed Bernoulli numbers.", "alive": false, "ratio": -0.125e2})",
                    "{\n  \"model\": \"sluice\",\n  \"items\": [\n    {\"id\": 1, \"text\": \"héllo wörld 😀\"},\n    {\"id\": 2, \"text\": null}\n  ]\n}"},
                   0});
    out.push_back({"arithmetic", "root ::= expr\nexpr ::= term ((\"+\" | \"-\" | \"*\" | \"/\") term)*\nterm ::= [0-9]+ | \"(\" expr \")\"\n",
                   {"(12+34)*56-(7/(8+9))*1000", "1+2+3+4+5+6+7+8+9+10+11+12+13"}, 0});
    out.push_back({"csv lines", "root ::= line{1,20}\nline ::= field (\",\" field)* \"\\n\"\nfield ::= [a-zA-Z0-9 ]*\n",
                   {"name,age,city\nAda,36,London\nAlan,41,Wilmslow\n"}, 0});
    out.push_back({"free text with a forced frame", "root ::= \"Answer: \" [^\\n]{1,300} \"\\nConfidence: \" [0-9] \"/10\"\n",
                   {"Answer: The quick brown fox jumps over the lazy dog, again and again.\nConfidence: 7/10"}, 0});
    return out;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

struct schema_cases {
    std::vector<case_text> cases;
    std::size_t refused = 0;
    stats compile;       // JSON Schema -> GBNF -> automata
    stats compile_gbnf;  // GBNF -> automata (parse_gbnf) alone
};

schema_cases load_schemas(const std::filesystem::path& dir, std::size_t limit, const std::string& only) {
    schema_cases out;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        if (out.cases.size() >= limit) break;
        if (!only.empty() && f.filename().string().find(only) == std::string::npos) continue;
        boost::json::value doc;
        try {
            doc = boost::json::parse(read_file(f));
        } catch (const std::exception&) {
            continue;
        }
        case_text c;
        c.name = f.stem().string();
        auto t0 = clock_type::now();
        try {
#if SLUICE_HAS_JSON_SCHEMA
            c.gbnf = grammar::compile_json_schema(doc.at("schema"));
#else
            throw std::runtime_error("no JSON Schema compiler in this build");
#endif
            auto t1 = clock_type::now();
            grammar::parse_gbnf(c.gbnf);
            out.compile_gbnf.add(micros(clock_type::now() - t1));
        } catch (const std::exception&) {
            ++out.refused;
            continue;
        }
        c.compile_us = micros(clock_type::now() - t0);
        out.compile.add(c.compile_us);
        for (const auto& t : doc.at("tests").as_array()) {
            if (t.as_object().at("valid").as_bool()) c.texts.push_back(boost::json::serialize(t.as_object().at("data")));
        }
        out.cases.push_back(std::move(c));
    }
    return out;
}

struct slow_mask {
    double us;
    std::string where;
};

struct walk_result {
    stats setup_us;  // the first matcher of each grammar over the vocabulary (lookahead classes)
    std::vector<slow_mask> slowest;  // the 10 slowest masks, with where they happened
    stats mask_us;
    std::size_t texts = 0, rejected_texts = 0, forced = 0, tokens = 0;
};

void walk(const case_text& c, const engine::tokenizer& tok, const std::shared_ptr<const grammar::token_vocabulary>& v,
          walk_result& r, bool verbose) {
    auto g = grammar::parse_gbnf(c.gbnf);
    std::vector<std::uint32_t> mask;
    stats local;
    {
        auto t0 = clock_type::now();
        grammar::matcher first(g, v);
        r.setup_us.add(micros(clock_type::now() - t0));
    }
    for (const auto& text : c.texts) {
        grammar::matcher m(g, v);
        auto ids = tok.tokenize(text, false, false);
        bool ok = true;
        ++r.texts;
        for (auto id : ids) {
            if (!m.forced_bytes().empty()) ++r.forced;
            double t0 = now_us();
            m.fill_mask(mask);
            double us = now_us() - t0;
            r.mask_us.add(us);
            local.add(us);
            if (r.slowest.size() < 10 || us > r.slowest.back().us) {
                std::string prefix;
                for (std::size_t k = 0; k < local.v.size() - 1 && k < ids.size(); ++k) prefix += tok.piece(ids[k]);
                r.slowest.push_back({us, c.name + " @ " + prefix.substr(prefix.size() > 60 ? prefix.size() - 60 : 0)});
                std::sort(r.slowest.begin(), r.slowest.end(), [](auto& a, auto& b) { return a.us > b.us; });
                if (r.slowest.size() > 10) r.slowest.pop_back();
            }
            ++r.tokens;
            bool allowed = (mask[static_cast<std::size_t>(id) >> 5] >> (id & 31)) & 1u;
            if (!allowed || !m.accept_token(id)) {
                ok = false;
                break;
            }
        }
        if (ok) {
            double t0 = now_us();
            m.fill_mask(mask);
            r.mask_us.add(now_us() - t0);
            ok = m.is_complete();
        }
        if (!ok) ++r.rejected_texts;
    }
    if (verbose) {
        std::printf("    %-40s compile %8.0f us  tokens %5zu  avg %7.1f us  max %8.1f us\n", c.name.c_str(), c.compile_us,
                    local.v.size(), local.avg(), local.pct(1.0));
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::filesystem::path shared = std::getenv("SLUICE_SHARED") ? std::getenv("SLUICE_SHARED") : "../shared";
    std::size_t limit = static_cast<std::size_t>(-1);
    std::string only;
    bool verbose = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--shared" && i + 1 < argc) shared = argv[++i];
        else if (a == "--schemas" && i + 1 < argc) limit = std::stoul(argv[++i]);
        else if (a == "--only" && i + 1 < argc) only = argv[++i];
        else if (a == "--verbose") verbose = true;
        else if (a == "--wall") g_wall = true;
        else {
            std::fprintf(stderr, "usage: grammar_bench [--shared DIR] [--schemas N] [--only SUBSTR] [--verbose] [--wall]\n");
            return 2;
        }
    }
    auto builtin = builtin_cases();
    for (auto& c : builtin) {
        auto t0 = clock_type::now();
        grammar::parse_gbnf(c.gbnf);
        c.compile_us = micros(clock_type::now() - t0);
    }
    schema_cases schemas;
    if (std::filesystem::exists(shared / "schemas")) schemas = load_schemas(shared / "schemas", limit, only);
    std::printf("schemas: %zu compiled, %zu refused; compile (schema -> GBNF -> automata) p50 %.0f us, p99 %.0f us, max %.0f us;"
                " of which GBNF -> automata p50 %.0f us, p99 %.0f us, max %.0f us\n",
                schemas.cases.size(), schemas.refused, schemas.compile.pct(0.5), schemas.compile.pct(0.99), schemas.compile.pct(1.0),
                schemas.compile_gbnf.pct(0.5), schemas.compile_gbnf.pct(0.99), schemas.compile_gbnf.pct(1.0));
    for (const char* name : {"qwen2", "llama-bpe"}) {
        auto path = shared / "vocab" / (std::string("ggml-vocab-") + name + ".gguf");
        if (!std::filesystem::exists(path)) {
            std::printf("%s: %s missing, skipped\n", name, path.c_str());
            continue;
        }
        auto tok = engine::tokenizer::from_gguf(model::gguf_file::open(path.string()));
        auto t0 = clock_type::now();
        auto v = test::grammar_vocabulary(tok);
        std::printf("\n== %s: %zu tokens (vocabulary + trie built in %.1f ms)\n", name, v->size(), micros(clock_type::now() - t0) / 1000);
        for (auto& c : builtin) {
            walk_result r;
            walk(c, tok, v, r, false);
            std::printf("  %-32s compile %6.0f us  tokens %4zu  mask avg %7.1f us  p50 %6.1f  p99 %7.1f  max %7.1f  %s\n", c.name.c_str(),
                        c.compile_us, r.tokens, r.mask_us.avg(), r.mask_us.pct(0.5), r.mask_us.pct(0.99), r.mask_us.pct(1.0),
                        r.rejected_texts ? "REJECTED TEXT" : "");
        }
        if (schemas.cases.empty()) continue;
        walk_result all;
        for (const auto& c : schemas.cases) walk(c, tok, v, all, verbose);
        std::printf("  schemas: %zu instances (%zu rejected), %zu tokens, %zu with forced bytes\n", all.texts, all.rejected_texts,
                    all.tokens, all.forced);
        std::printf("  mask per token: avg %.1f us  p50 %.1f us  p99 %.1f us  max %.1f us\n", all.mask_us.avg(),
                    all.mask_us.pct(0.5), all.mask_us.pct(0.99), all.mask_us.pct(1.0));
        std::printf("  first matcher per grammar (lookahead classes): p50 %.0f us  p99 %.0f us  max %.0f us\n",
                    all.setup_us.pct(0.5), all.setup_us.pct(0.99), all.setup_us.pct(1.0));
        if (verbose) {
            for (const auto& sm : all.slowest) std::printf("    slow: %9.1f us  %s\n", sm.us, sm.where.c_str());
        }
    }
    return 0;
}
