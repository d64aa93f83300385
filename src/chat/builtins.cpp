// Globals, filters, tests and methods available to templates. Mutating methods
// (list.append, dict.update, ...) are refused, as Hugging Face's immutable sandbox does.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <set>

#include "interpreter.hpp"
#include "sluice/util/utf8.hpp"

namespace sluice::chat::detail {
namespace {

// Widths a template may ask for (format specs, indent, center): larger ones are hostile.
constexpr std::size_t k_max_pad = 10000;

bool is_ws(char32_t c) { return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xA0 || c == 0x3000 || (c >= 0x2000 && c <= 0x200A); }

std::string arg_str(const call_args& a, std::size_t i, std::string_view name, const std::string& dflt = "") {
    const value* v = a.get(i, name);
    return v && !v->is_undefined() && !v->is_none() ? v->str() : dflt;
}

bool arg_bool(const call_args& a, std::size_t i, std::string_view name, bool dflt) {
    const value* v = a.get(i, name);
    return v && !v->is_undefined() ? v->truthy() : dflt;
}

std::int64_t arg_int(const call_args& a, std::size_t i, std::string_view name, std::int64_t dflt) {
    const value* v = a.get(i, name);
    return v && v->is_number() ? v->as_int() : dflt;
}

// Python str.strip family: strip `chars` (or whitespace) from one or both ends.
std::string strip(const std::string& s, const value* chars, bool left, bool right) {
    const auto cps = utf8::to_code_points(s);
    std::vector<char32_t> set;
    const bool ws = chars == nullptr || chars->is_none() || chars->is_undefined();
    if (!ws) set = utf8::to_code_points(chars->str());
    auto strip_it = [&](char32_t c) { return ws ? is_ws(c) : std::find(set.begin(), set.end(), c) != set.end(); };
    std::size_t b = 0, e = cps.size();
    if (left) while (b < e && strip_it(cps[b])) ++b;
    if (right) while (e > b && strip_it(cps[e - 1])) --e;
    std::string out;
    for (std::size_t i = b; i < e; ++i) utf8::append(out, cps[i]);
    return out;
}

std::string map_case(const std::string& s, bool upper) {
    std::string out = s;
    for (auto& c : out) {
        if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
        if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return out;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string title(const std::string& s) {
    std::string out = s;
    bool prev_alpha = false;
    for (auto& c : out) {
        const bool a = is_alpha(c);
        if (a) c = prev_alpha ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        prev_alpha = a || (c >= '0' && c <= '9') || static_cast<unsigned char>(c) >= 0x80;
    }
    return out;
}

std::string capitalize(const std::string& s) {
    std::string out = map_case(s, false);
    if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
    return out;
}

value split(const std::string& s, const value* sep, std::int64_t maxsplit) {
    value::array out;
    if (sep == nullptr || sep->is_none() || sep->is_undefined()) {  // whitespace runs, no empty pieces
        std::size_t i = 0;
        while (i < s.size()) {
            while (i < s.size() && is_ws(static_cast<unsigned char>(s[i]))) ++i;
            if (i >= s.size()) break;
            if (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) == maxsplit) {
                std::string rest = s.substr(i);
                while (!rest.empty() && is_ws(static_cast<unsigned char>(rest.back()))) rest.pop_back();
                out.emplace_back(rest);
                return value(std::move(out));
            }
            std::size_t j = i;
            while (j < s.size() && !is_ws(static_cast<unsigned char>(s[j]))) ++j;
            out.emplace_back(s.substr(i, j - i));
            i = j;
        }
        return value(std::move(out));
    }
    const std::string d = sep->str();
    if (d.empty()) return value(out);
    std::size_t pos = 0;
    for (std::size_t hit; (hit = s.find(d, pos)) != std::string::npos; pos = hit + d.size()) {
        if (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) == maxsplit) break;
        out.emplace_back(s.substr(pos, hit - pos));
    }
    out.emplace_back(s.substr(pos));
    return value(std::move(out));
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, std::int64_t count) {
    if (from.empty()) return s;
    std::string out;
    std::size_t pos = 0;
    std::int64_t n = 0;
    for (std::size_t hit; (count < 0 || n < count) && (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size(), ++n) {
        out.append(s, pos, hit - pos);
        out += to;
    }
    out.append(s, pos);
    return out;
}

std::vector<std::string> splitlines(const std::string& s) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' || s[i] == '\r') {
            lines.push_back(s.substr(start, i - start));
            if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
            start = i + 1;
        }
    }
    if (start < s.size()) lines.push_back(s.substr(start));
    return lines;
}

std::string indent(const std::string& input, const std::string& pad, bool first, bool blank) {
    std::string s = input + "\n";  // Jinja2 appends a newline before splitting lines
    const auto lines = splitlines(s);
    std::string rv;
    if (blank) {
        for (std::size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + pad : "") + lines[i];
    } else {
        rv = lines.empty() ? "" : lines[0];
        for (std::size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : pad + lines[i]);
    }
    return first ? pad + rv : rv;
}

// The items of an iterable as a list (a generator is consumed).
value seq_of(renderer& r, const value& v) {
    if (v.is_array()) return value(v.iterate());
    value::array out;
    if (v.is_object()) {
        for (std::size_t i = 0; i < v.fields().items.size(); ++i) out.push_back(v.fields().key(i));
    } else if (v.is_string()) {
        for (char32_t c : utf8::to_code_points(v.as_string())) out.emplace_back(utf8::encode(c));
    } else if (!v.is_undefined()) {
        r.fail("'" + v.type_name() + "' object is not iterable");
    }
    return value(std::move(out));
}

value attribute_path(renderer& r, const value& v, const std::string& path) {
    value cur = v;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const std::size_t dot = path.find('.', pos);
        const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        if (cur.is_undefined()) return cur;
        if (!part.empty() && std::all_of(part.begin(), part.end(), ::isdigit) && cur.is_array()) {
            std::int64_t idx = 0;
            std::from_chars(part.data(), part.data() + part.size(), idx);
            cur = r.get_item(cur, value(idx));
        } else {
            cur = cur.is_object() && cur.fields().find(part) ? *cur.fields().find(part) : value::undefined("no attribute " + part);
        }
        if (dot == std::string::npos) break;
        pos = dot + 1;
    }
    return cur;
}

bool less_for_sort(renderer& r, const value& a, const value& b, bool case_sensitive) {
    if (a.is_string() && b.is_string() && !case_sensitive) return map_case(a.as_string(), false) < map_case(b.as_string(), false);
    if (a.is_number() && b.is_number()) return a.as_double() < b.as_double();
    if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
    r.fail("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

bool contains_generator(const value& v) {
    if (v.is_generator()) return true;
    if (v.is_array()) return std::any_of(v.items().begin(), v.items().end(), contains_generator);
    if (v.is_object()) return std::any_of(v.fields().items.begin(), v.fields().items.end(), [](const auto& kv) { return contains_generator(kv.second); });
    return false;
}

value tojson(renderer& r, const value& v, const call_args& a) {
    if (contains_generator(v)) r.fail("TypeError: Object of type generator is not JSON serializable");
    int ind = -1;
    if (const value* i = a.get(0, "indent"); i && i->is_number()) ind = static_cast<int>(i->as_int());
    std::string item_sep = ind >= 0 ? "," : ", ", key_sep = ": ";
    if (const value* sep = a.get(99, "separators"); sep && sep->is_array() && sep->items().size() == 2) {
        item_sep = sep->items()[0].str();
        key_sep = sep->items()[1].str();
    }
    return value(v.to_json(ind, item_sep, key_sep, arg_bool(a, 99, "sort_keys", false)));
}

value select_items(renderer& r, const value& input, const call_args& a, bool by_attr, bool keep) {
    const value seq = input.truthy() ? seq_of(r, input) : value(value::array{});  // Jinja2: "if value:"
    value::array out;
    const std::size_t first = by_attr ? 1 : 0;
    const std::string attr = by_attr ? arg_str(a, 0, "attribute") : "";
    std::string test_name;
    call_args test_args;
    if (a.positional.size() > first) {
        test_name = a.positional[first].str();
        test_args.positional.assign(a.positional.begin() + static_cast<std::ptrdiff_t>(first + 1), a.positional.end());
    }
    for (const auto& item : seq.items()) {
        const value v = by_attr ? attribute_path(r, item, attr) : item;
        const bool ok = test_name.empty() ? v.truthy() : r.apply_test(test_name, v, test_args);
        if (ok == keep) out.push_back(item);
    }
    return value::generator(std::move(out));
}

}  // namespace

// ---------------------------------------------------------------- globals

value global_function(renderer& r, const std::string& name) {
    renderer* rp = &r;
    if (name == "range") {
        return value::callable(
            [rp](const call_args& a) {
                std::int64_t start = 0, stop = 0, step = 1;
                if (a.positional.size() == 1) stop = a.positional[0].as_int();
                else if (a.positional.size() >= 2) {
                    start = a.positional[0].as_int();
                    stop = a.positional[1].as_int();
                    if (a.positional.size() > 2) step = a.positional[2].as_int();
                }
                if (step == 0) rp->fail("range() step must not be zero");
                value::array out;
                for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                    if (out.size() >= 1000000) rp->fail("range() too large");
                    out.emplace_back(i);
                }
                return value(std::move(out));
            },
            "range");
    }
    if (name == "namespace" || name == "dict") {
        const bool ns = name == "namespace";
        return value::callable(
            [ns](const call_args& a) {
                value::object o;
                o.is_namespace = ns;
                for (const auto& p : a.positional) {
                    if (p.is_object()) {
                        for (const auto& kv : p.fields().items) o.set(kv.first, kv.second);
                    }
                }
                for (const auto& [k, v] : a.named) o.set(k, v);
                return value(std::move(o));
            },
            name);
    }
    if (name == "raise_exception") {
        return value::callable([rp](const call_args& a) -> value { rp->fail(arg_str(a, 0, "message", "raise_exception")); }, name);
    }
    if (name == "strftime_now") {
        return value::callable(
            [rp](const call_args& a) {
                char buf[256];
                const std::string fmt = arg_str(a, 0, "format", "%Y-%m-%d");
                const std::size_t n = std::strftime(buf, sizeof buf, fmt.c_str(), &rp->now());
                return value(std::string(buf, n));
            },
            name);
    }
    return value();
}

// ---------------------------------------------------------------- methods

value bound_method(renderer& r, const value& obj, const std::string& name) {
    renderer* rp = &r;
    auto method = [&](auto fn) { return value::callable(fn, name); };
    if (obj.is_string()) {
        const std::string s = obj.as_string();
        if (name == "strip" || name == "lstrip" || name == "rstrip") {
            const bool l = name != "rstrip", rt = name != "lstrip";
            return method([s, l, rt](const call_args& a) { return value(strip(s, a.get(0, "chars"), l, rt)); });
        }
        if (name == "upper" || name == "lower") return method([s, name](const call_args&) { return value(map_case(s, name == "upper")); });
        if (name == "title") return method([s](const call_args&) { return value(title(s)); });
        if (name == "capitalize") return method([s](const call_args&) { return value(capitalize(s)); });
        if (name == "split") return method([s](const call_args& a) { return split(s, a.get(0, "sep"), arg_int(a, 1, "maxsplit", -1)); });
        if (name == "splitlines") {
            return method([s](const call_args&) {
                value::array out;
                for (auto& l : splitlines(s)) out.emplace_back(l);
                return value(std::move(out));
            });
        }
        if (name == "startswith" || name == "endswith") {
            const bool starts = name == "startswith";
            return method([s, starts](const call_args& a) {
                const value* p = a.get(0, "prefix");
                std::vector<std::string> cands;
                if (p && p->is_array()) for (const auto& x : p->items()) cands.push_back(x.str());
                else if (p) cands.push_back(p->str());
                for (const auto& c : cands) {
                    if (starts ? s.compare(0, c.size(), c) == 0 && s.size() >= c.size()
                               : s.size() >= c.size() && s.compare(s.size() - c.size(), c.size(), c) == 0) return value(true);
                }
                return value(false);
            });
        }
        if (name == "replace") {
            return method([s](const call_args& a) { return value(replace_all(s, arg_str(a, 0, "old"), arg_str(a, 1, "new"), arg_int(a, 2, "count", -1))); });
        }
        if (name == "find" || name == "rfind" || name == "count" || name == "index") {
            return method([s, name, rp](const call_args& a) {
                const std::string sub = arg_str(a, 0, "sub");
                if (name == "count") {
                    std::int64_t n = 0;
                    for (std::size_t p = sub.empty() ? std::string::npos : s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
                    return value(n);
                }
                const std::size_t p = name == "rfind" ? s.rfind(sub) : s.find(sub);
                if (p == std::string::npos) {
                    if (name == "index") rp->fail("substring not found");
                    return value(-1);
                }
                return value(static_cast<std::int64_t>(code_point_count(std::string_view(s).substr(0, p))));
            });
        }
        if (name == "join") {
            return method([s, rp](const call_args& a) {
                const value seq = seq_of(*rp, a.positional.empty() ? value() : a.positional[0]);
                std::string out;
                for (std::size_t i = 0; i < seq.items().size(); ++i) out += (i ? s : "") + seq.items()[i].str();
                return value(std::move(out));
            });
        }
        if (name == "format") return method([s, rp](const call_args& a) { return value(python_format(*rp, s, a)); });
        if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "isupper" || name == "islower" || name == "isalnum") {
            return method([s, name](const call_args&) {
                if (s.empty()) return value(false);
                bool ok = true, cased = false;
                for (unsigned char c : s) {
                    if (name == "isdigit") ok &= std::isdigit(c) != 0;
                    else if (name == "isalpha") ok &= std::isalpha(c) != 0;
                    else if (name == "isalnum") ok &= std::isalnum(c) != 0;
                    else if (name == "isspace") ok &= std::isspace(c) != 0;
                    else if (name == "isupper") { ok &= !std::islower(c); cased |= std::isupper(c) != 0; }
                    else { ok &= !std::isupper(c); cased |= std::islower(c) != 0; }
                }
                return value(ok && (name == "isupper" || name == "islower" ? cased : true));
            });
        }
        if (name == "removeprefix" || name == "removesuffix") {
            return method([s, name](const call_args& a) {
                const std::string x = arg_str(a, 0, "x");
                if (name == "removeprefix" && s.compare(0, x.size(), x) == 0) return value(s.substr(x.size()));
                if (name == "removesuffix" && s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0) return value(s.substr(0, s.size() - x.size()));
                return value(s);
            });
        }
        return value();
    }
    if (obj.is_object()) {
        const value o = obj;
        if (name == "items" || name == "keys" || name == "values") {
            return method([o, name](const call_args&) {
                value::array out;
                const auto& f = o.fields();
                for (std::size_t i = 0; i < f.items.size(); ++i) {
                    if (name == "items") out.emplace_back(value::array{f.key(i), f.items[i].second});
                    else if (name == "keys") out.push_back(f.key(i));
                    else out.push_back(f.items[i].second);
                }
                return value(std::move(out));
            });
        }
        if (name == "get") {
            return method([o](const call_args& a) {
                const value* k = a.get(0, "key");
                if (k && k->is_string()) {
                    if (const value* v = o.fields().find(k->as_string())) return *v;
                }
                const value* d = a.get(1, "default");
                return d ? *d : value::none();
            });
        }
        if (name == "copy") return method([o](const call_args&) { return value(o.fields()); });
        if (!o.fields().is_namespace && (name == "update" || name == "pop" || name == "setdefault" || name == "clear" || name == "popitem")) {
            return method([rp, name](const call_args&) -> value { rp->fail("access to attribute '" + name + "' of 'dict' object is unsafe"); });
        }
        return value();
    }
    if (obj.is_array()) {
        const value l = obj;
        if (name == "index" || name == "count") {
            return method([l, name, rp](const call_args& a) {
                const value x = a.positional.empty() ? value() : a.positional[0];
                std::int64_t n = 0;
                for (std::size_t i = 0; i < l.items().size(); ++i) {
                    if (l.items()[i] == x) {
                        if (name == "index") return value(static_cast<std::int64_t>(i));
                        ++n;
                    }
                }
                if (name == "index") rp->fail(x.repr() + " is not in list");
                return value(n);
            });
        }
        if (name == "append" || name == "pop" || name == "extend" || name == "insert" || name == "remove" || name == "clear" ||
            name == "sort" || name == "reverse") {
            return method([rp, name](const call_args&) -> value { rp->fail("access to attribute '" + name + "' of 'list' object is unsafe"); });
        }
    }
    return value();
}

// ---------------------------------------------------------------- tests

std::optional<bool> run_test(renderer& r, const std::string& name, const value& v, const call_args& a) {
    const value arg = a.positional.empty() ? value() : a.positional[0];
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "string") return v.is_string();
    if (name == "mapping") return v.is_object();
    if (name == "iterable") return v.is_array() || v.is_object() || v.is_string();
    if (name == "sequence") return v.is_array() || v.is_object() || v.is_string();
    if (name == "number") return v.is_number();
    if (name == "integer") return v.is_int();
    if (name == "float") return v.is_float();
    if (name == "boolean") return v.is_bool();
    if (name == "true") return v.is_bool() && v.as_bool();
    if (name == "false") return v.is_bool() && !v.as_bool();
    if (name == "callable") return v.is_callable();
    if (name == "even" || name == "odd") {
        if (!v.is_number()) r.fail("'" + name + "' test needs a number");
        return (v.as_int() % 2 == 0) == (name == "even");
    }
    if (name == "divisibleby") return arg.as_int() != 0 && v.as_int() % arg.as_int() == 0;
    if (name == "eq" || name == "equalto" || name == "==") return v == arg;
    if (name == "ne" || name == "!=") return !(v == arg);
    if (name == "lt" || name == "lessthan" || name == "<") return v.as_double() < arg.as_double();
    if (name == "le" || name == "<=") return v.as_double() <= arg.as_double();
    if (name == "gt" || name == "greaterthan" || name == ">") return v.as_double() > arg.as_double();
    if (name == "ge" || name == ">=") return v.as_double() >= arg.as_double();
    if (name == "sameas") return v.identical(arg);
    if (name == "in") {
        if (arg.is_string()) return v.is_string() && arg.as_string().find(v.as_string()) != std::string::npos;
        if (arg.is_array()) return std::any_of(arg.items().begin(), arg.items().end(), [&](const value& x) { return x == v; });
        if (arg.is_object()) return v.is_string() && arg.fields().find(v.as_string()) != nullptr;
        return false;
    }
    if (name == "lower" || name == "upper") {
        if (!v.is_string()) return false;
        return map_case(v.as_string(), name == "upper") == v.as_string();
    }
    if (name == "escaped") return false;
    return std::nullopt;
}

// ---------------------------------------------------------------- filters

namespace {
const std::set<std::string>& filter_names() {
    static const std::set<std::string> names{
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
        "forceescape", "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
        "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum",
        "title", "tojson", "trim", "unique", "upper", "wordcount", "striptags"};
    return names;
}
}  // namespace

bool has_filter(const std::string& name) { return filter_names().count(name) != 0; }

value run_filter(renderer& r, const std::string& name, const value& v, const call_args& a) {
    if (name == "default" || name == "d") {
        const value* d = a.get(0, "default_value");
        const bool boolean = arg_bool(a, 1, "boolean", false);
        if (v.is_undefined() || (boolean && !v.truthy())) return d ? *d : value("");
        return v;
    }
    if (name == "length" || name == "count") {
        if (v.is_generator()) r.fail("object of type 'generator' has no len()");
        if (v.is_string()) return value(static_cast<std::int64_t>(code_point_count(v.as_string())));
        if (v.is_array()) return value(static_cast<std::int64_t>(v.items().size()));
        if (v.is_object()) return value(static_cast<std::int64_t>(v.fields().items.size()));
        if (v.is_undefined()) return value(0);
        r.fail("object of type '" + v.type_name() + "' has no len()");
    }
    if (name == "string") return value(v.str());
    if (name == "safe") return v.is_markup() ? v : value::markup(v.str());
    if (name == "forceescape") return value::markup(html_escape(v.str()));
    if (name == "e" || name == "escape") return v.is_markup() ? v : value::markup(html_escape(v.str()));
    if (name == "trim") return value(strip(v.str(), a.get(0, "chars"), true, true));
    if (name == "upper" || name == "lower") return value(map_case(v.str(), name == "upper"));
    if (name == "title") return value(title(v.str()));
    if (name == "capitalize") return value(capitalize(v.str()));
    if (name == "tojson") return tojson(r, v, a);
    if (name == "replace") return value(replace_all(v.str(), arg_str(a, 0, "old"), arg_str(a, 1, "new"), arg_int(a, 2, "count", -1)));
    if (name == "indent") {
        const value* w = a.get(0, "width");
        const std::int64_t n = w && !w->is_string() ? w->as_int() : 4;
        if (n > static_cast<std::int64_t>(k_max_pad)) r.fail("indent width too large");
        const std::string pad = w && w->is_string() ? w->as_string() : std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, n)), ' ');
        return value(indent(v.str(), pad, arg_bool(a, 1, "first", false), arg_bool(a, 2, "blank", false)));
    }
    if (name == "join") {
        const value seq = seq_of(r, v);
        const std::string sep = arg_str(a, 0, "d");
        const value* attr = a.get(1, "attribute");
        std::string out;
        for (std::size_t i = 0; i < seq.items().size(); ++i) {
            const value item = attr ? attribute_path(r, seq.items()[i], attr->str()) : seq.items()[i];
            out += (i ? sep : "") + item.str();
        }
        return value(std::move(out));
    }
    if (name == "list") return seq_of(r, v);
    if (name == "first" || name == "last") {
        if (name == "last" && v.is_generator()) r.fail("argument to reversed() must be a sequence");
        const value seq = seq_of(r, v);
        if (seq.items().empty()) return value::undefined("no first/last item of an empty sequence");
        return name == "first" ? seq.items().front() : seq.items().back();
    }
    if (name == "reverse") {
        if (v.is_string()) {
            auto cps = utf8::to_code_points(v.as_string());
            std::reverse(cps.begin(), cps.end());
            std::string out;
            for (char32_t c : cps) utf8::append(out, c);
            return value(std::move(out));
        }
        value::array items = seq_of(r, v).items();
        std::reverse(items.begin(), items.end());
        return value(std::move(items));
    }
    if (name == "items") {
        value::array out;
        if (v.is_object()) {
            for (std::size_t i = 0; i < v.fields().items.size(); ++i) out.emplace_back(value::array{v.fields().key(i), v.fields().items[i].second});
        }
        else if (!v.is_undefined()) r.fail("items filter needs a mapping");
        return value(std::move(out));
    }
    if (name == "dictsort") {
        if (!v.is_object()) r.fail("dictsort filter needs a mapping");
        std::vector<std::pair<value, value>> items;
        for (std::size_t i = 0; i < v.fields().items.size(); ++i) items.emplace_back(v.fields().key(i), v.fields().items[i].second);
        const bool by_value = arg_str(a, 1, "by", "key") == "value";
        const bool cs = arg_bool(a, 0, "case_sensitive", false);
        std::stable_sort(items.begin(), items.end(), [&](const auto& x, const auto& y) {
            return by_value ? less_for_sort(r, x.second, y.second, cs) : less_for_sort(r, x.first, y.first, cs);
        });
        if (arg_bool(a, 2, "reverse", false)) std::reverse(items.begin(), items.end());
        value::array out;
        for (auto& [k, x] : items) out.emplace_back(value::array{k, x});
        return value(std::move(out));
    }
    if (name == "sort") {
        value::array items = seq_of(r, v).items();
        const value* attr = a.get(2, "attribute");
        const bool cs = arg_bool(a, 1, "case_sensitive", false);
        std::stable_sort(items.begin(), items.end(), [&](const value& x, const value& y) {
            return attr ? less_for_sort(r, attribute_path(r, x, attr->str()), attribute_path(r, y, attr->str()), cs) : less_for_sort(r, x, y, cs);
        });
        if (arg_bool(a, 0, "reverse", false)) std::reverse(items.begin(), items.end());
        return value(std::move(items));
    }
    if (name == "unique") {
        value::array out;
        const value seq = seq_of(r, v);  // named: a temporary's items() would dangle in the loop
        for (const auto& x : seq.items()) {
            if (std::none_of(out.begin(), out.end(), [&](const value& y) { return y == x; })) out.push_back(x);
        }
        return value::generator(std::move(out));
    }
    if (name == "min" || name == "max") {
        const value seq = seq_of(r, v);
        if (seq.items().empty()) return value::undefined("empty sequence");
        value best = seq.items()[0];
        for (const auto& x : seq.items()) {
            if (name == "min" ? less_for_sort(r, x, best, false) : less_for_sort(r, best, x, false)) best = x;
        }
        return best;
    }
    if (name == "sum") {
        const value* attr = a.get(0, "attribute");
        value total = a.get(1, "start") ? *a.get(1, "start") : value(0);
        const value seq = seq_of(r, v);
        for (const auto& x : seq.items()) {
            const value item = attr ? attribute_path(r, x, attr->str()) : x;
            if (!item.is_number() || !total.is_number()) r.fail("unsupported operand type(s) for +: '" + total.type_name() + "' and '" + item.type_name() + "'");
            std::int64_t sum = 0;
            if (total.is_float() || item.is_float()) {
                total = value(total.as_double() + item.as_double());
            } else if (__builtin_add_overflow(total.as_int(), item.as_int(), &sum)) {
                r.fail("integer result of 'sum' is too large");
            } else {
                total = value(sum);
            }
        }
        return total;
    }
    if (name == "map") {
        const value seq = v.truthy() ? seq_of(r, v) : value(value::array{});  // Jinja2: "if value:"
        value::array out;
        const value* attr = a.get(99, "attribute");
        for (const auto& x : seq.items()) {
            if (attr) {
                value got = attribute_path(r, x, attr->str());
                if (got.is_undefined() && a.get(99, "default")) got = *a.get(99, "default");
                out.push_back(got);
            } else {
                if (a.positional.empty()) r.fail("map filter needs a filter name or attribute=");
                call_args rest;
                rest.positional.assign(a.positional.begin() + 1, a.positional.end());
                out.push_back(r.apply_filter(a.positional[0].str(), x, rest));
            }
        }
        return value::generator(std::move(out));
    }
    if (name == "select" || name == "reject") return select_items(r, v, a, false, name == "select");
    if (name == "selectattr" || name == "rejectattr") return select_items(r, v, a, true, name == "selectattr");
    if (name == "attr") return r.get_attr(v, arg_str(a, 0, "name"));
    if (name == "int") {
        if (v.is_number()) return value(v.is_float() ? static_cast<std::int64_t>(v.as_double()) : v.as_int());
        try {
            std::size_t used = 0;
            const std::string s = strip(v.str(), nullptr, true, true);
            const long long x = std::stoll(s, &used, static_cast<int>(arg_int(a, 1, "base", 10)));
            if (used == s.size()) return value(static_cast<std::int64_t>(x));
            const double d = std::stod(s, &used);
            if (used == s.size()) return value(static_cast<std::int64_t>(d));
        } catch (const std::exception&) {
        }
        return value(arg_int(a, 0, "default", 0));
    }
    if (name == "float") {
        if (v.is_number()) return value(v.as_double());
        try {
            return value(std::stod(v.str()));
        } catch (const std::exception&) {
            return value(0.0);
        }
    }
    if (name == "abs") return v.is_float() ? value(std::fabs(v.as_double())) : value(static_cast<std::int64_t>(v.as_int() < 0 ? -v.as_int() : v.as_int()));
    if (name == "round") {
        const std::int64_t prec = arg_int(a, 0, "precision", 0);
        const std::string method = arg_str(a, 1, "method", "common");
        const double f = std::pow(10.0, static_cast<double>(prec));
        double x = v.as_double() * f;
        x = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::round(x);
        return value(x / f);
    }
    if (name == "center") {
        const std::string s = v.str();
        const std::int64_t req = arg_int(a, 0, "width", 80);
        if (req > static_cast<std::int64_t>(k_max_pad)) r.fail("center width too large");
        const std::size_t w = static_cast<std::size_t>(std::max<std::int64_t>(0, req)), n = code_point_count(s);
        if (w <= n) return value(s);
        const std::size_t left = (w - n) / 2;
        return value(std::string(left, ' ') + s + std::string(w - n - left, ' '));
    }
    if (name == "wordcount") return value(static_cast<std::int64_t>(split(v.str(), nullptr, -1).items().size()));
    if (name == "format") return value(percent_format(r, v.str(), value(a.positional)));
    if (name == "batch") {
        const auto size = static_cast<std::size_t>(std::max<std::int64_t>(1, arg_int(a, 0, "linecount", 1)));
        value::array out, cur;
        const value seq = seq_of(r, v);  // named: a temporary's items() would dangle in the loop
        for (const auto& x : seq.items()) {
            cur.push_back(x);
            if (cur.size() == size) {
                out.emplace_back(std::move(cur));
                cur.clear();
            }
        }
        if (!cur.empty()) out.emplace_back(std::move(cur));
        return value(std::move(out));
    }
    if (name == "striptags") {
        std::string out;
        bool in_tag = false;
        for (char c : v.str()) {
            if (c == '<') in_tag = true;
            else if (c == '>') in_tag = false;
            else if (!in_tag) out += c;
        }
        return value(std::move(out));
    }
    r.fail("no filter named '" + name + "'");
}

// ---------------------------------------------------------------- formatting

namespace {

// Applies a Python format spec ([[fill]align][sign][0][width][.precision][type]) to v.
std::string format_spec(renderer& r, const value& v, const std::string& spec) {
    std::size_t i = 0;
    char fill = ' ', align = 0;
    if (spec.size() >= 2 && (spec[1] == '<' || spec[1] == '>' || spec[1] == '^')) {
        fill = spec[0];
        align = spec[1];
        i = 2;
    } else if (!spec.empty() && (spec[0] == '<' || spec[0] == '>' || spec[0] == '^')) {
        align = spec[0];
        i = 1;
    }
    if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) ++i;
    if (i < spec.size() && spec[i] == '0') {
        fill = '0';
        if (!align) align = '=';
        ++i;
    }
    std::size_t width = 0;
    while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
        width = width * 10 + static_cast<std::size_t>(spec[i++] - '0');
        if (width > k_max_pad) r.fail("format width too large");
    }
    int prec = -1;
    if (i < spec.size() && spec[i] == '.') {
        ++i;
        prec = 0;
        while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
            prec = prec * 10 + (spec[i++] - '0');
            if (prec > 100) r.fail("format precision too large");
        }
    }
    const char type = i < spec.size() ? spec[i] : 0;
    std::string body;
    if (type == 'f' || type == 'F' || (prec >= 0 && v.is_number() && type != 's')) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", prec < 0 ? 6 : prec, v.as_double());
        body = buf;
    } else if (type == 'd') {
        if (!v.is_number()) r.fail("unknown format code 'd' for object of type '" + v.type_name() + "'");
        body = std::to_string(v.as_int());
    } else {
        body = v.str();
        if (prec >= 0 && v.is_string()) body = body.substr(0, static_cast<std::size_t>(prec));
    }
    const std::size_t n = code_point_count(body);
    if (width <= n) return body;
    const std::size_t pad = width - n;
    if (!align) align = v.is_number() ? '>' : '<';
    if (align == '<') return body + std::string(pad, fill);
    if (align == '^') return std::string(pad / 2, fill) + body + std::string(pad - pad / 2, fill);
    if (align == '=' && !body.empty() && body[0] == '-') return "-" + std::string(pad, fill) + body.substr(1);
    return std::string(pad, fill) + body;
}

}  // namespace

std::string python_format(renderer& r, const std::string& fmt, const call_args& args) {
    std::string out;
    std::size_t auto_index = 0;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        const char c = fmt[i];
        if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out += '{';
            ++i;
        } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
            out += '}';
            ++i;
        } else if (c == '{') {
            const std::size_t close = fmt.find('}', i);
            if (close == std::string::npos) r.fail("single '{' encountered in format string");
            std::string field = fmt.substr(i + 1, close - i - 1), spec;
            if (const auto colon = field.find(':'); colon != std::string::npos) {
                spec = field.substr(colon + 1);
                field = field.substr(0, colon);
            }
            if (const auto bang = field.find('!'); bang != std::string::npos) field = field.substr(0, bang);
            const value* v = nullptr;
            if (field.empty()) {
                v = auto_index < args.positional.size() ? &args.positional[auto_index] : nullptr;
                ++auto_index;
            } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
                std::size_t k = 0;
                if (std::from_chars(field.data(), field.data() + field.size(), k).ec != std::errc()) k = args.positional.size();
                v = k < args.positional.size() ? &args.positional[k] : nullptr;
            } else {
                v = args.get(static_cast<std::size_t>(-1), field);
            }
            if (v == nullptr) r.fail("format: no argument for field '{" + field + "}'");
            out += format_spec(r, *v, spec);
            i = close;
        } else {
            out += c;
        }
    }
    return out;
}

std::string percent_format(renderer& r, const std::string& fmt, const value& args) {
    std::vector<value> list;
    if (args.is_array()) list = args.items();
    else list.push_back(args);
    std::size_t next = 0;
    std::string out;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') {
            out += fmt[i];
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '%') {
            out += '%';
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        while (j < fmt.size() && std::strchr("-+ #0123456789.", fmt[j])) ++j;
        if (j >= fmt.size()) r.fail("incomplete format");
        const char conv = fmt[j];
        if (next >= list.size()) r.fail("not enough arguments for format string");
        const value& v = list[next++];
        const std::string flags = fmt.substr(i + 1, j - i - 1);
        char buf[128];
        if (conv == 'd' || conv == 'i') {
            std::snprintf(buf, sizeof buf, ("%" + flags + "lld").c_str(), static_cast<long long>(v.is_float() ? static_cast<std::int64_t>(v.as_double()) : v.as_int()));
            out += buf;
        } else if (conv == 'f' || conv == 'e' || conv == 'g') {
            std::snprintf(buf, sizeof buf, ("%" + flags + conv).c_str(), v.as_double());
            out += buf;
        } else if (conv == 'r') {
            out += v.repr();
        } else {
            out += v.str();
        }
        i = j;
    }
    if (next < list.size() && args.is_array()) r.fail("not all arguments converted during string formatting");
    return out;
}

}  // namespace sluice::chat::detail
