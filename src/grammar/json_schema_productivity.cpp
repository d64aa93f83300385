// Which rules of the compiled grammar can derive a finite text. A recursive schema such as
// {"properties": {"a": {"$ref": "#"}}, "required": ["a"]} compiles to rules that never
// finish; the compiler refuses it rather than hand the sampler a grammar it can enter and
// never complete. Works on the GBNF text the rule_set wrote (its own, regular syntax).
#include <map>
#include <set>

#include "grammar/json_schema_rules.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

bool name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'; }

// Recursive descent over one body; `productive` says which names are known to finish.
class body_eval {
public:
    body_eval(std::string_view text, const std::set<std::string>& productive) : t_(text), productive_(productive) {}

    bool run() { return alternatives(); }

private:
    void skip_space() {
        while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n')) ++p_;
    }
    bool alternatives() {
        bool any = sequence();
        skip_space();
        while (p_ < t_.size() && t_[p_] == '|') {
            ++p_;
            any = sequence() || any;
            skip_space();
        }
        return any;
    }
    bool sequence() {
        bool all = true;
        for (;;) {
            skip_space();
            if (p_ >= t_.size() || t_[p_] == '|' || t_[p_] == ')') return all;
            bool item = primary();
            // Postfix: ?, * and {0,...} make the item optional; + and {m>=1,...} keep it.
            skip_space();
            if (p_ < t_.size() && (t_[p_] == '?' || t_[p_] == '*')) {
                item = true;
                ++p_;
            } else if (p_ < t_.size() && t_[p_] == '+') {
                ++p_;
            } else if (p_ < t_.size() && t_[p_] == '{') {
                if (p_ + 1 < t_.size() && t_[p_ + 1] == '0') item = true;
                while (p_ < t_.size() && t_[p_] != '}') ++p_;
                ++p_;
            }
            all = all && item;
        }
    }
    bool primary() {
        const char c = t_[p_];
        if (c == '"' || c == '[') {
            const char close = c == '"' ? '"' : ']';
            ++p_;
            while (p_ < t_.size() && t_[p_] != close) p_ += t_[p_] == '\\' ? 2 : 1;
            ++p_;
            return true;
        }
        if (c == '(') {
            ++p_;
            const bool inner = alternatives();
            skip_space();
            ++p_;  // ')'
            return inner;
        }
        const std::size_t start = p_;
        while (p_ < t_.size() && name_char(t_[p_])) ++p_;
        if (p_ == start) {
            ++p_;  // not ours: be permissive
            return true;
        }
        return productive_.count(std::string(t_.substr(start, p_ - start))) != 0;
    }

    std::string_view t_;
    const std::set<std::string>& productive_;
    std::size_t p_ = 0;
};

// The rule names a body refers to.
std::set<std::string> references(std::string_view t) {
    std::set<std::string> out;
    std::size_t p = 0;
    while (p < t.size()) {
        const char c = t[p];
        if (c == '"' || c == '[') {
            const char close = c == '"' ? '"' : ']';
            ++p;
            while (p < t.size() && t[p] != close) p += t[p] == '\\' ? 2 : 1;
            ++p;
        } else if (c == '{') {
            while (p < t.size() && t[p] != '}') ++p;
        } else if (name_char(c)) {
            const std::size_t start = p;
            while (p < t.size() && name_char(t[p])) ++p;
            out.emplace(t.substr(start, p - start));
        } else {
            ++p;
        }
    }
    return out;
}

}  // namespace

std::vector<std::string> rule_set::unproductive() const {
    // Worklist: a rule is looked at again only when a rule it refers to became productive.
    std::set<std::string> productive;
    std::map<std::string, std::vector<std::string>> users;
    std::vector<std::string> queue;
    for (const auto& [name, body] : bodies_) {
        for (const std::string& r : references(body)) users[r].push_back(name);
        queue.push_back(name);
    }
    while (!queue.empty()) {
        const std::string name = std::move(queue.back());
        queue.pop_back();
        if (productive.count(name) != 0) continue;
        if (!body_eval(bodies_.at(name), productive).run()) continue;
        productive.insert(name);
        if (auto it = users.find(name); it != users.end()) {
            for (const std::string& u : it->second) {
                if (productive.count(u) == 0) queue.push_back(u);
            }
        }
    }
    std::vector<std::string> out;
    for (const auto& [name, body] : bodies_) {
        if (productive.count(name) == 0) out.push_back(name);
    }
    return out;
}

}  // namespace sluice::grammar::json_schema_detail
