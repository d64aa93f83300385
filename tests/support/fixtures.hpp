// Readers for the shared tokenizer fixtures (llama.cpp's test-tokenizer-0 format).
#pragma once

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "support/shared_data.hpp"

namespace sluice::test {

// `.inp`: test strings, each followed by "\n__ggml_vocab_test__\n".
inline std::vector<std::string> read_vocab_inputs(const std::filesystem::path& p) {
    const std::string text = read_file(p);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> out;
    std::size_t pos = 0;
    for (std::size_t hit; (hit = text.find(sep, pos)) != std::string::npos; pos = hit + sep.size()) {
        out.push_back(text.substr(pos, hit - pos));
    }
    return out;
}

// `.out`: one line of space-separated ids per string.
inline std::vector<std::vector<int>> read_vocab_outputs(const std::filesystem::path& p) {
    std::istringstream in(read_file(p));
    std::vector<std::vector<int>> out;
    for (std::string line; std::getline(in, line);) {
        std::istringstream ls(line);
        std::vector<int> ids;
        for (int id; ls >> id;) ids.push_back(id);
        out.push_back(std::move(ids));
    }
    return out;
}

// Printable form of a test string for failure messages.
inline std::string escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else out += static_cast<char>(c);
    }
    return out;
}

template <typename T>
std::string join(const std::vector<T>& v) {
    std::ostringstream os;
    for (std::size_t i = 0; i < v.size(); ++i) os << (i ? " " : "") << v[i];
    return os.str();
}

// Lists the stems of files in <shared>/<sub> ending in `ext`, or {"missing"} when there are
// none (so a parameterised suite still instantiates one case, which skips or fails).
inline std::vector<std::string> shared_stems(const std::string& sub, const std::string& ext) {
    std::vector<std::string> names;
    const auto dir = shared_dir() / sub;
    if (std::filesystem::is_directory(dir)) {
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            const auto name = e.path().filename().string();
            if (name.size() > ext.size() && name.ends_with(ext)) names.push_back(name.substr(0, name.size() - ext.size()));
        }
    }
    std::sort(names.begin(), names.end());
    if (names.empty()) names.push_back("missing");
    return names;
}

// The architectures sluice supports whose references live in reference/families/ (the
// four families added last; the rest there are not implemented yet).
inline const std::vector<std::string>& supported_family_references() {
    static const std::vector<std::string> names{"qwen3moe-Q8_0", "qwen3moe-Q4_K_M", "gemma3-Q8_0", "qwen35-Q8_0", "gemma4-Q4_0"};
    return names;
}

// Stems of every reference sluice should match, relative to <shared>/reference:
// reference/*.json plus "families/<name>" for each supported family present.
inline std::vector<std::string> reference_stems() {
    auto names = shared_stems("reference", ".json");
    for (const auto& f : supported_family_references()) {
        if (std::filesystem::exists(shared_dir() / "reference" / "families" / (f + ".json"))) {
            if (names.size() == 1 && names[0] == "missing") names.clear();
            names.push_back("families/" + f);
        }
    }
    return names;
}

// Stems of every reference whose tokenizer and chat template sluice should match: all of
// reference/*.json and reference/families/*.json, whether or not the architecture runs
// (tokenizers and templates do not depend on it).
inline std::vector<std::string> tokenizer_reference_stems() {
    auto names = shared_stems("reference", ".json");
    const auto families = shared_stems("reference/families", ".json");
    if (families.size() != 1 || families[0] != "missing") {
        if (names.size() == 1 && names[0] == "missing") names.clear();
        for (const auto& f : families) names.push_back("families/" + f);
    }
    return names;
}

// A GoogleTest-safe name for a parameter string.
struct param_name {
    template <typename Info>
    std::string operator()(const Info& p) const {
        std::string n = p.param;
        for (auto& c : n) {
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        }
        return n;
    }
};

}  // namespace sluice::test
