// Numbers and integers with minimum/maximum/exclusiveMinimum/exclusiveMaximum, exact: each
// bound is a DFA over the number's text (sign, integer digits, fraction) that compares it
// digit by digit with the bound's decimal expansion, so 0.3 and 1e19 are as exact as 7.
// A bounded number is written without exponent (1e-5 is refused, 0.00001 accepted): the
// one approximation, documented in docs/structured-output.md.
#include <charconv>
#include <cmath>
#include <cstdint>

#include "grammar/json_schema_compiler.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

// A decimal number as digit strings: int_digits without leading zeros ("0" for zero),
// frac_digits without trailing zeros.
struct decimal {
    bool negative = false;
    std::string int_digits = "0";
    std::string frac_digits;
    bool is_zero() const { return int_digits == "0" && frac_digits.empty(); }
};

// Shortest round-trip digits and decimal exponent of a finite double: d = 0.DIGITS * 10^exp10.
void shortest_digits(double d, std::string& digits, int& point) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
    const std::string s(buf, res.ptr);
    const std::size_t e = s.find('e');
    digits.clear();
    for (std::size_t i = 0; i < e; ++i) {
        if (s[i] != '.') digits += s[i];
    }
    point = std::stoi(s.substr(e + 1)) + 1;  // digits[0..point) is the integer part
}

decimal decimal_from_double(double d) {
    decimal out;
    std::string digits;
    int point = 0;
    shortest_digits(d, digits, point);
    out.negative = d < 0;
    std::string ip;
    std::string fp;
    if (point <= 0) {
        fp = std::string(static_cast<std::size_t>(-point), '0') + digits;
    } else if (static_cast<std::size_t>(point) >= digits.size()) {
        ip = digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0');
    } else {
        ip = digits.substr(0, static_cast<std::size_t>(point));
        fp = digits.substr(static_cast<std::size_t>(point));
    }
    while (!ip.empty() && ip[0] == '0') ip.erase(0, 1);
    while (!fp.empty() && fp.back() == '0') fp.pop_back();
    out.int_digits = ip.empty() ? "0" : ip;
    out.frac_digits = fp;
    if (out.is_zero()) out.negative = false;
    return out;
}

decimal decimal_of(const json::value& v) {
    decimal out;
    if (v.is_int64()) {
        const std::int64_t i = v.as_int64();
        out.negative = i < 0;
        const std::uint64_t mag = i < 0 ? 0 - static_cast<std::uint64_t>(i) : static_cast<std::uint64_t>(i);
        out.int_digits = std::to_string(mag);
    } else if (v.is_uint64()) {
        out.int_digits = std::to_string(v.as_uint64());
    } else {
        out = decimal_from_double(v.as_double());
    }
    return out;
}

enum class cmp { lt, le, gt, ge };

bool accepts(cmp op, int rel) {
    switch (op) {
        case cmp::lt: return rel < 0;
        case cmp::le: return rel <= 0;
        case cmp::gt: return rel > 0;
        case cmp::ge: return rel >= 0;
    }
    return false;
}

class magnitude_builder {
public:
    magnitude_builder(const decimal& b, cmp op, bool integer) : b_(b), op_(op), integer_(integer) {}

    // Texts "-"? I ("." F)? whose magnitude compares to b as op says.
    dfa build(bool negative) {
        const int start = add(false);
        int s = start;
        if (negative) {
            s = add(false);
            edge(start, '-', '-', s);
        }
        const int zero = add(int_end_accept(b_.int_digits == "0" ? 0 : -1));
        edge(s, '0', '0', zero);
        dot(zero, b_.int_digits == "0" ? 0 : -1);
        const char b0 = b_.int_digits[0];
        digit_edges(s, b0, '1', [&](int rel) { return int_state(1, rel); });
        // Compared with zero only the sign and zero-ness matter, which an exponent keeps:
        // 1e-05 >= 0. (Not for integers: 15e-1 is no integer.)
        if (b_.is_zero() && !integer_) add_exponents();
        return trim(out_);
    }

private:
    void add_exponents() {
        const std::size_t n = out_.states.size();
        const int e1 = add(false);
        const int e2 = add(false);
        const int e3 = add(true);
        edge(e1, '+', '+', e2);
        edge(e1, '-', '-', e2);
        edge(e1, '0', '9', e3);
        edge(e2, '0', '9', e3);
        edge(e3, '0', '9', e3);
        for (std::size_t i = 0; i < n; ++i) {
            if (!out_.states[i].accept) continue;
            edge(static_cast<int>(i), 'E', 'E', e1);
            edge(static_cast<int>(i), 'e', 'e', e1);
        }
    }
    int add(bool accept) {
        out_.states.push_back(dfa_state{{}, accept});
        return static_cast<int>(out_.states.size() - 1);
    }
    void edge(int from, char lo, char hi, int to) {
        if (lo <= hi && to >= 0) out_.states[static_cast<std::size_t>(from)].next.emplace_back(code_set(static_cast<char32_t>(lo), static_cast<char32_t>(hi)), to);
    }
    // Digits from `first` up: those below `pivot` get rel -1, `pivot` 0, above +1.
    template <typename Target>
    void digit_edges(int from, char pivot, char first, Target target) {
        if (pivot > first) edge(from, first, static_cast<char>(pivot - 1), target(-1));
        if (pivot >= first) edge(from, pivot, pivot, target(0));
        edge(from, static_cast<char>(std::max(pivot + 1, static_cast<int>(first))), '9', target(1));
    }
    bool int_end_accept(int int_rel) const {
        return accepts(op_, int_rel == 0 ? (b_.frac_digits.empty() ? 0 : -1) : int_rel);
    }
    // State after k integer digits comparing `rel` with the bound's first k digits.
    int int_state(std::size_t k, int rel) {
        const std::size_t len = b_.int_digits.size();
        const int key = k > len ? -1 : static_cast<int>(k * 3) + rel + 1;
        if (auto it = int_ids_.find(key); it != int_ids_.end()) return it->second;
        const int result = k > len ? 1 : k < len ? -1 : rel;
        const int id = add(int_end_accept(result));
        int_ids_[key] = id;
        dot(id, result);
        if (k >= len) {
            edge(id, '0', '9', int_state(len + 1, 1));
        } else if (rel != 0) {
            edge(id, '0', '9', int_state(k + 1, rel));
        } else {
            digit_edges(id, b_.int_digits[k], '0', [&](int r) { return int_state(k + 1, r); });
        }
        return id;
    }
    // The fraction after an integer part that compared as int_rel.
    void dot(int from, int int_rel) {
        if (integer_) {
            // JSON Schema integers are numbers with a zero fraction: "2.0" is one.
            if (!int_end_accept(int_rel)) return;
            if (zeros_ < 0) {
                zeros_ = add(true);
                edge(zeros_, '0', '0', zeros_);
                zeros1_ = add(false);
                edge(zeros1_, '0', '0', zeros_);
            }
            edge(from, '.', '.', zeros1_);
            return;
        }
        if (int_rel != 0) {
            if (accepts(op_, int_rel)) edge(from, '.', '.', frac_any(true));
            return;
        }
        edge(from, '.', '.', frac_state(0));
    }
    int frac_any(bool need_digit) {
        if (any_ < 0) {
            any_ = add(true);
            edge(any_, '0', '9', any_);
            any1_ = add(false);
            edge(any1_, '0', '9', any_);
        }
        return need_digit ? any1_ : any_;
    }
    // After j fraction digits equal to the bound's.
    int frac_state(std::size_t j) {
        if (auto it = frac_ids_.find(j); it != frac_ids_.end()) return it->second;
        const std::size_t m = b_.frac_digits.size();
        const int decided_lt = accepts(op_, -1) ? frac_any(false) : -1;
        const int decided_gt = accepts(op_, 1) ? frac_any(false) : -1;
        if (j >= m) {
            // Bound exhausted: zeros keep equality, any other digit makes it greater.
            const int id = add(j > 0 && accepts(op_, 0));
            frac_ids_[j] = id;
            const int zeros = j > 0 ? id : frac_state(m + 1);
            edge(id, '0', '0', zeros);
            edge(id, '1', '9', decided_gt);
            return id;
        }
        const int id = add(j > 0 && accepts(op_, -1));
        frac_ids_[j] = id;
        const char pivot = b_.frac_digits[j];
        digit_edges(id, pivot, '0', [&](int r) { return r < 0 ? decided_lt : r > 0 ? decided_gt : frac_state(j + 1); });
        return id;
    }

    decimal b_;
    cmp op_;
    bool integer_;
    dfa out_;
    std::map<int, int> int_ids_;
    std::map<std::size_t, int> frac_ids_;
    int any_ = -1;
    int any1_ = -1;
    int zeros_ = -1;
    int zeros1_ = -1;
};

dfa mag(const decimal& b, cmp op, bool integer, bool negative) {
    return magnitude_builder(b, op, integer).build(negative);
}

dfa any_magnitude(bool integer, bool negative) { return mag(decimal{}, cmp::ge, integer, negative); }

dfa lower_bound(const decimal& l, bool strict, bool integer) {
    if (!l.negative) {
        dfa d = mag(l, strict ? cmp::gt : cmp::ge, integer, false);
        if (l.is_zero() && !strict) d = unite(d, mag(l, cmp::le, integer, true), k_max_dfa_states);
        return d;
    }
    decimal m = l;
    m.negative = false;
    return unite(any_magnitude(integer, false), mag(m, strict ? cmp::lt : cmp::le, integer, true), k_max_dfa_states);
}

dfa upper_bound(const decimal& u, bool strict, bool integer) {
    if (u.negative) {
        decimal m = u;
        m.negative = false;
        return mag(m, strict ? cmp::gt : cmp::ge, integer, true);
    }
    if (u.is_zero() && strict) return mag(u, cmp::gt, integer, true);
    return unite(mag(u, strict ? cmp::lt : cmp::le, integer, false), any_magnitude(integer, true), k_max_dfa_states);
}

}  // namespace

std::string python_float(double d) {
    if (!std::isfinite(d)) return "null";
    std::string digits;
    int point = 0;
    shortest_digits(d, digits, point);
    const int exp10 = point - 1;
    std::string out = std::signbit(d) ? "-" : "";
    if (exp10 >= -4 && exp10 < 16) {
        if (point <= 0) {
            out += "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
        } else if (static_cast<std::size_t>(point) >= digits.size()) {
            out += digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0') + ".0";
        } else {
            out += digits.substr(0, static_cast<std::size_t>(point)) + "." + digits.substr(static_cast<std::size_t>(point));
        }
        return out;
    }
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    const int a = exp10 < 0 ? -exp10 : exp10;
    out += std::string("e") + (exp10 < 0 ? "-" : "+") + (a < 10 ? "0" : "") + std::to_string(a);
    return out;
}

opt_rule schema_compiler::number_rule(const json::object& s, const std::string& ptr, bool integer) {
    std::vector<std::pair<const char*, const json::value*>> bounds;
    std::string key = integer ? "i" : "n";
    for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
        const json::value* v = s.if_contains(k);
        if (v == nullptr) continue;
        if (!v->is_number() && !v->is_bool()) refuse(pointer_append(ptr, k), k, std::string(k) + " must be a number");
        if (v->is_double() && !std::isfinite(v->as_double())) refuse(pointer_append(ptr, k), k, "bound is not finite");
        bounds.emplace_back(k, v);
        key += std::string("|") + k + "=" + json::serialize(*v);
    }
    const json::value* nonint_flag = s.if_contains("x-sluice-nonint");
    const bool nonint = !integer && nonint_flag != nullptr && nonint_flag->is_bool() && nonint_flag->as_bool();
    if (nonint) key += "|nonint";
    if (bounds.empty() && !nonint) {
        if (!integer) return any_number_rule();
        return rules_.add("integer", "\"-\"? (\"0\" | [1-9] [0-9]*) (\".\" \"0\"+)?");
    }
    if (auto it = scalar_cache_.find(key); it != scalar_cache_.end()) return it->second;
    auto flag = [&](const char* k) {
        const json::value* v = s.if_contains(k);
        return v != nullptr && v->is_bool() && v->as_bool();
    };
    // A lone lower bound of zero only fixes the sign: exponents stay allowed (1e-05 >= 0).
    if (!integer && !nonint) {
        const json::value* mn = s.if_contains("minimum");
        const json::value* xmn = s.if_contains("exclusiveMinimum");
        const bool zero_min = mn != nullptr && mn->is_number() && mn->to_number<double>() == 0.0;
        const bool zero_xmin = xmn != nullptr && xmn->is_number() && xmn->to_number<double>() == 0.0;
        const bool only_lower = !s.contains("maximum") && !s.contains("exclusiveMaximum") &&
                                ((zero_min && (xmn == nullptr || xmn->is_bool())) || (zero_xmin && mn == nullptr));
        if (only_lower) {
            const bool strict = zero_xmin || flag("exclusiveMinimum");
            const std::string exp = " ([eE] [-+]? [0-9]+)?";
            const std::string body = strict ? "([1-9] [0-9]* (\".\" [0-9]+)? | \"0.\" [0-9]* [1-9] [0-9]*)" + exp
                                            : "(\"0\" | [1-9] [0-9]*) (\".\" [0-9]+)?" + exp;
            const opt_rule r = rules_.add(strict ? "positive" : "non-negative", body);
            scalar_cache_[key] = r;
            return r;
        }
    }
    std::optional<dfa> d;
    auto add = [&](const dfa& x) { d = d ? intersect(*d, x, k_max_dfa_states) : x; };
    try {
        for (const auto& [k, v] : bounds) {
            if (v->is_bool()) continue;  // draft-04 exclusive flags, applied to minimum/maximum
            const decimal b = decimal_of(*v);
            const std::string_view kw = k;
            if (kw == "minimum") add(lower_bound(b, flag("exclusiveMinimum"), integer));
            if (kw == "exclusiveMinimum") add(lower_bound(b, true, integer));
            if (kw == "maximum") add(upper_bound(b, flag("exclusiveMaximum"), integer));
            if (kw == "exclusiveMaximum") add(upper_bound(b, true, integer));
        }
        // Numbers that are not integers (oneOf beside an integer branch): a non-zero
        // fraction, no exponent (a sound subset, like every bounded number).
        if (nonint) add(compile_pattern("^-?(0|[1-9][0-9]*)\\.[0-9]*[1-9][0-9]*$", k_max_dfa_states));
    } catch (const regex_error& e) {
        refuse(pointer_append(ptr, "minimum"), "minimum", std::string("numeric bounds: ") + e.what());
    }
    opt_rule r;
    if (d && !d->empty()) r = rules_.add_dfa(integer ? "int-range" : "num-range", *d, dfa_context::raw);
    if (!d) r = integer ? rules_.add("integer", "\"-\"? (\"0\" | [1-9] [0-9]*) (\".\" \"0\"+)?") : any_number_rule();
    scalar_cache_[key] = r;
    return r;
}

}  // namespace sluice::grammar::json_schema_detail
