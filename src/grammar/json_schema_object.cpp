// Objects. Named properties in schema order (each optional one may be skipped), or in any
// order for small objects when schema_options::any_property_order; then additional members
// whose keys avoid every named key: patternProperties keys (their regex) and
// additionalProperties keys (the complement of all patterns). minProperties/maxProperties,
// dependentRequired and "not": {"required": [...]} are tracked in the state of a small
// automaton of rules, one per (position, count, tracked keys seen).
#include <algorithm>
#include <map>
#include <tuple>

#include "grammar/json_schema_compiler.hpp"

namespace sluice::grammar::json_schema_detail {

namespace {

constexpr std::size_t k_max_object_states = 20000;
constexpr std::size_t k_max_tracked = 12;
constexpr std::size_t k_max_inlined = 48;

struct named_member {
    std::string key;
    std::string text;  // key ws ":" ws value
    bool required = false;
    int bit = -1;        // tracked key index, or -1
    int order_bit = -1;  // any order: bit in state::pos marking it used; -1: may repeat
};

struct object_plan {
    std::vector<named_member> named;
    std::string extra;  // rule for one additional member, or ""
    long long min = 0;
    long long max = -1;
    std::vector<std::pair<int, unsigned>> deps;  // key bit -> bits it requires
    std::vector<unsigned> combos;                // bits that may not all be present
    bool any_order = false;
};

struct state {
    unsigned pos;    // schema order: index of the next named member; any order: members used
    long long count;
    unsigned tracked;
    bool empty;
    auto tie() const { return std::tie(pos, count, tracked, empty); }
    bool operator<(const state& o) const { return tie() < o.tie(); }
};

class object_automaton {
public:
    object_automaton(const object_plan& p, rule_set& rules, std::string ws) : p_(p), rules_(rules), ws_(std::move(ws)) {}

    // The rule after "{" ws, or nullopt when no object fits.
    opt_rule emit() {
        const int start = node({0, 0, 0, true});
        for (std::size_t i = 0; i < states_.size(); ++i) expand(static_cast<int>(i));
        // Live states reach an end: backwards from the ends over reversed edges.
        std::vector<char> live(states_.size(), 0);
        std::vector<std::vector<int>> rev(states_.size());
        std::vector<int> stack;
        for (std::size_t i = 0; i < states_.size(); ++i) {
            for (const auto& [text, to] : edges_[i]) rev[static_cast<std::size_t>(to)].push_back(static_cast<int>(i));
            if (ends_[i]) {
                live[i] = 1;
                stack.push_back(static_cast<int>(i));
            }
        }
        while (!stack.empty()) {
            const int s = stack.back();
            stack.pop_back();
            for (int p : rev[static_cast<std::size_t>(s)]) {
                if (live[static_cast<std::size_t>(p)] == 0) {
                    live[static_cast<std::size_t>(p)] = 1;
                    stack.push_back(p);
                }
            }
        }
        if (live[static_cast<std::size_t>(start)] == 0) return std::nullopt;
        inline_skips(live);
        // Emit the states reachable from the start through the rewritten edges.
        std::vector<std::string> names(states_.size());
        std::vector<int> order{start};
        names[static_cast<std::size_t>(start)] = rules_.reserve("obj");
        for (std::size_t k = 0; k < order.size(); ++k) {
            for (const auto& [text, to] : out_[static_cast<std::size_t>(order[k])]) {
                if (names[static_cast<std::size_t>(to)].empty()) {
                    names[static_cast<std::size_t>(to)] = rules_.reserve("obj");
                    order.push_back(to);
                }
            }
        }
        for (int i : order) {
            std::string body;
            for (const auto& [text, to] : out_[static_cast<std::size_t>(i)]) {
                body += (body.empty() ? "" : " | ") + (text.empty() ? "" : text + " ") + names[static_cast<std::size_t>(to)];
            }
            if (out_end_[static_cast<std::size_t>(i)]) body += (body.empty() ? "" : " | ") + std::string("\"}\"");
            rules_.define(names[static_cast<std::size_t>(i)], body);
        }
        return names[static_cast<std::size_t>(start)];
    }

private:
    // Skip edges (an optional property left out) are replaced by the edges they lead to, up
    // to k_max_inlined alternatives: a run of optional properties becomes one rule whose
    // automaton merges the keys, instead of a chain the matcher holds as one stack per rule.
    void inline_skips(const std::vector<char>& live) {
        out_.assign(states_.size(), {});
        out_end_.assign(states_.size(), false);
        for (std::size_t i = 0; i < states_.size(); ++i) {
            if (live[i] == 0) continue;
            std::vector<std::pair<std::string, int>> gathered;
            bool end = false;
            std::vector<int> stack{static_cast<int>(i)};
            std::vector<int> seen{static_cast<int>(i)};
            while (!stack.empty() && gathered.size() <= k_max_inlined) {
                const auto s = static_cast<std::size_t>(stack.back());
                stack.pop_back();
                end = end || ends_[s];
                for (const auto& [text, to] : edges_[s]) {
                    if (live[static_cast<std::size_t>(to)] == 0) continue;
                    if (!text.empty()) {
                        gathered.emplace_back(text, to);
                    } else if (std::find(seen.begin(), seen.end(), to) == seen.end()) {
                        seen.push_back(to);
                        stack.push_back(to);
                    }
                }
            }
            if (gathered.size() <= k_max_inlined && stack.empty()) {
                out_[i] = std::move(gathered);
                out_end_[i] = end;
                continue;
            }
            for (const auto& e : edges_[i]) {
                if (live[static_cast<std::size_t>(e.second)] != 0) out_[i].push_back(e);
            }
            out_end_[i] = ends_[i];
        }
    }

    int node(const state& s) {
        if (auto it = ids_.find(s); it != ids_.end()) return it->second;
        if (states_.size() >= k_max_object_states) throw schema_error("", "", "object constraints need too many grammar states");
        ids_.emplace(s, static_cast<int>(states_.size()));
        states_.push_back(s);
        edges_.emplace_back();
        ends_.push_back(false);
        return static_cast<int>(states_.size() - 1);
    }
    bool combos_ok(unsigned tracked) const {
        return std::none_of(p_.combos.begin(), p_.combos.end(), [&](unsigned c) { return (tracked & c) == c; });
    }
    bool end_ok(const state& s) const {
        if (s.count < p_.min) return false;
        for (const auto& [bit, need] : p_.deps) {
            if ((s.tracked & (1u << bit)) != 0 && (s.tracked & need) != need) return false;
        }
        if (p_.any_order) {
            for (const named_member& m : p_.named) {
                if (m.required && (s.pos & (1u << m.order_bit)) == 0) return false;
            }
        }
        return true;
    }
    long long next_count(long long c) const {
        const long long cap = p_.max >= 0 ? p_.max + 1 : p_.min;
        return std::min(c + 1, cap);
    }
    void add_member(int from, const state& s, const std::string& text, unsigned pos, int bit) {
        state n{pos, next_count(s.count), s.tracked | (bit >= 0 ? 1u << bit : 0u), false};
        if (p_.max >= 0 && n.count > p_.max) return;
        if (!combos_ok(n.tracked)) return;
        const std::string sep = s.empty ? "" : "\",\"" + ws_;
        const int to = node(n);
        edges_[static_cast<std::size_t>(from)].emplace_back(sep + text + ws_, to);
    }
    void expand(int id) {
        const state s = states_[static_cast<std::size_t>(id)];
        const std::size_t n = p_.named.size();
        if (p_.any_order) {
            for (const named_member& m : p_.named) {
                if (m.order_bit < 0) {
                    add_member(id, s, m.text, s.pos, m.bit);
                } else if ((s.pos & (1u << m.order_bit)) == 0) {
                    add_member(id, s, m.text, s.pos | (1u << m.order_bit), m.bit);
                }
            }
        } else if (s.pos < n) {
            const named_member& m = p_.named[s.pos];
            add_member(id, s, m.text, s.pos + 1, m.bit);
            if (!m.required) {
                const int to = node({s.pos + 1, s.count, s.tracked, s.empty});
                edges_[static_cast<std::size_t>(id)].emplace_back("", to);
            }
            return;
        }
        if (!p_.extra.empty()) add_member(id, s, p_.extra, s.pos, -1);
        ends_[static_cast<std::size_t>(id)] = end_ok(s);
    }

    const object_plan& p_;
    rule_set& rules_;
    std::string ws_;
    std::map<state, int> ids_;
    std::vector<state> states_;
    std::vector<std::vector<std::pair<std::string, int>>> edges_;
    std::vector<bool> ends_;
    std::vector<std::vector<std::pair<std::string, int>>> out_;  // edges after inline_skips
    std::vector<bool> out_end_;
};

long long count_keyword(const json::object& s, const char* k, const std::string& ptr, long long fallback) {
    const json::value* v = s.if_contains(k);
    if (v == nullptr) return fallback;
    if (!v->is_number() || v->to_number<double>() < 0) refuse(pointer_append(ptr, k), k, std::string(k) + " must be a non-negative number");
    return static_cast<long long>(std::min(v->to_number<double>(), 1e9));
}

std::vector<std::string> string_list(const json::value* v, const std::string& ptr, const char* k) {
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (!v->is_array()) refuse(pointer_append(ptr, k), k, std::string(k) + " must be an array of strings");
    for (const json::value& e : v->as_array()) {
        if (!e.is_string()) refuse(pointer_append(ptr, k), k, std::string(k) + " must be an array of strings");
        if (std::find(out.begin(), out.end(), std::string(e.as_string())) == out.end()) out.emplace_back(e.as_string());
    }
    return out;
}

void tracked_names_extra(std::vector<std::string>& names, const std::string& k) {
    if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
}

}  // namespace

bool is_required_combo(const json::object& n) {
    const json::value* req = n.if_contains("required");
    if (req == nullptr || !req->is_array() || req->as_array().empty()) return false;
    for (const auto& kv : n) {
        if (kv.key() == "required") continue;
        if (kv.key() == "properties" && kv.value().is_object()) {
            for (const auto& p : kv.value().as_object()) {
                const bool trivial = (p.value().is_bool() && p.value().as_bool()) ||
                                     (p.value().is_object() && std::none_of(p.value().as_object().begin(), p.value().as_object().end(),
                                                                            [](const auto& e) { return is_assertion(e.key()); }));
                if (!trivial) return false;
            }
            continue;
        }
        if (is_assertion(kv.key())) return false;
    }
    return true;
}

opt_rule schema_compiler::object_rule(const json::object& s, const std::string& ptr, int depth) {
    head_scope inside(*this);
    const std::string w = ws();
    static const json::object k_empty;
    const json::value* pv = s.if_contains("properties");
    if (pv != nullptr && !pv->is_object()) refuse(pointer_append(ptr, "properties"), "properties", "properties must be an object");
    const json::object& props = pv != nullptr ? pv->as_object() : k_empty;
    const json::value* ppv = s.if_contains("patternProperties");
    if (ppv != nullptr && !ppv->is_object()) refuse(pointer_append(ptr, "patternProperties"), "patternProperties", "must be an object");
    const json::object& pats = ppv != nullptr ? ppv->as_object() : k_empty;
    const json::value* ap = s.if_contains("additionalProperties");
    const json::value k_true(true);
    if (ap == nullptr) ap = &k_true;

    // Keys property names must match (propertyNames), as a DFA; nullopt: any key.
    std::optional<dfa> names_filter;
    if (const json::value* pn = s.if_contains("propertyNames")) {
        const std::string pnptr = pointer_append(ptr, "propertyNames");
        const json::value flat = flatten(*pn, pnptr, depth + 1);
        if (flat.is_bool()) {
            if (!flat.as_bool()) names_filter = literal_dfa({});
        } else if (flat.is_object()) {
            for (const auto& kv : flat.as_object()) {
                const std::string_view k = kv.key();
                if (is_assertion(k) && k != "pattern" && k != "minLength" && k != "maxLength" && k != "format" && k != "type") {
                    refuse(pointer_append(pnptr, k), std::string(k), "propertyNames supports only pattern, minLength, maxLength and format");
                }
            }
            names_filter = string_dfa(flat.as_object(), pnptr);
            if (!names_filter) {
                const long long mn = count_keyword(flat.as_object(), "minLength", pnptr, 0);
                const long long mx = count_keyword(flat.as_object(), "maxLength", pnptr, -1);
                if (mn > 0 || mx >= 0) names_filter = length_dfa(static_cast<std::size_t>(mn), mx);
            }
        }
    }
    auto key_allowed = [&](const std::string& k) { return !names_filter || names_filter->matches(decode_utf8(k)); };

    object_plan plan;
    plan.min = count_keyword(s, "minProperties", ptr, 0);
    plan.max = count_keyword(s, "maxProperties", ptr, -1);
    if (plan.max >= 0 && plan.min > plan.max) return std::nullopt;
    // "required": true inside a property is draft-03's spelling of the parent's list.
    const json::value* req_list = s.if_contains("required");
    std::vector<std::string> required = string_list(req_list != nullptr && req_list->is_bool() ? nullptr : req_list, ptr, "required");
    for (const auto& kv : props) {
        const json::object* p = kv.value().if_object();
        const json::value* r = p != nullptr ? p->if_contains("required") : nullptr;
        if (r != nullptr && r->is_bool() && r->as_bool() &&
            std::find(required.begin(), required.end(), std::string(kv.key())) == required.end()) {
            required.emplace_back(kv.key());
        }
    }

    // Keys whose presence is tracked: dependentRequired / dependencies and not-required combos.
    std::vector<std::string> tracked;
    auto track = [&](const std::string& k) {
        auto it = std::find(tracked.begin(), tracked.end(), k);
        if (it != tracked.end()) return static_cast<int>(it - tracked.begin());
        if (tracked.size() >= k_max_tracked) refuse(ptr, "dependentRequired", "too many keys in dependencies");
        tracked.push_back(k);
        return static_cast<int>(tracked.size() - 1);
    };
    for (const char* dk : {"dependencies", "dependentRequired"}) {
        const json::value* dv = s.if_contains(dk);
        if (dv == nullptr) continue;
        if (!dv->is_object()) refuse(pointer_append(ptr, dk), dk, std::string(dk) + " must be an object");
        for (const auto& kv : dv->as_object()) {
            const std::string dptr = pointer_append(pointer_append(ptr, dk), kv.key());
            if (!kv.value().is_array()) refuse(dptr, dk, "schema dependencies are not supported");
            unsigned need = 0;
            for (const std::string& r : string_list(&kv.value(), pointer_append(ptr, dk), dk)) need |= 1u << track(r);
            plan.deps.emplace_back(track(std::string(kv.key())), need);
        }
    }
    if (const json::value* nv = s.if_contains("not"); nv != nullptr && nv->is_object() && is_required_combo(nv->as_object())) {
        unsigned c = 0;
        for (const std::string& r : string_list(nv->as_object().if_contains("required"), pointer_append(ptr, "not"), "required")) c |= 1u << track(r);
        plan.combos.push_back(c);
    }
    // oneOf made exclusive (json_schema_compiler.cpp): other branches' required sets.
    if (const json::value* nr = s.if_contains("x-sluice-not-required"); nr != nullptr && nr->is_array()) {
        for (const json::value& set : nr->as_array()) {
            unsigned c = 0;
            for (const std::string& r : string_list(&set, ptr, "oneOf")) c |= 1u << track(r);
            plan.combos.push_back(c);
        }
    }
    const json::value* pnot = s.if_contains("x-sluice-property-not");
    const json::object& prop_not = pnot != nullptr && pnot->is_object() ? pnot->as_object() : k_empty;

    // Named members: properties in schema order, then required or tracked keys not in it.
    std::vector<std::string> names;
    for (const auto& kv : props) names.emplace_back(kv.key());
    for (const auto& kv : prop_not) tracked_names_extra(names, std::string(kv.key()));
    for (const auto& list : {required, tracked}) {
        for (const std::string& k : list) {
            if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
        }
    }
    std::vector<std::u32string> name_cps;
    for (const std::string& k : names) {
        name_cps.push_back(decode_utf8(k));
        const bool req = std::find(required.begin(), required.end(), k) != required.end();
        // The schema a value under this key must satisfy: properties[k] and every matching
        // patternProperties schema; additionalProperties only when neither applies.
        json::array all;
        const std::string kptr = pointer_append(pointer_append(ptr, "properties"), k);
        if (const json::value* p = props.if_contains(k)) all.push_back(*p);
        for (const auto& pp : pats) {
            if (pattern_dfa(std::string(pp.key()), pointer_append(ptr, "patternProperties")).matches(name_cps.back())) all.push_back(pp.value());
        }
        if (all.empty()) all.push_back(*ap);
        if (const json::value* n = prop_not.if_contains(k)) all.push_back(json::object{{"not", *n}});
        opt_rule v;
        if (key_allowed(k)) v = value_rule(all.size() == 1 ? all[0] : json::value(json::object{{"allOf", all}}), kptr, depth + 1);
        if (!v) {
            if (req) return std::nullopt;
            continue;
        }
        named_member m;
        m.key = k;
        m.required = req;
        auto t = std::find(tracked.begin(), tracked.end(), k);
        m.bit = t == tracked.end() ? -1 : static_cast<int>(t - tracked.begin());
        m.text = json_string_literal(k) + w + "\":\"" + w + *v;
        plan.named.push_back(std::move(m));
    }

    // Additional members: patternProperties keys, then additionalProperties keys.
    const dfa named_keys = literal_dfa(name_cps);
    std::vector<std::string> extras;
    std::optional<dfa> all_patterns;
    struct pattern_keys {
        dfa keys;  // keys this pattern matches, named keys excluded
        const json::value* schema;
        std::string ptr;
    };
    std::vector<pattern_keys> pk;
    bool overlap = false;
    try {
        for (const auto& pp : pats) {
            const std::string pptr = pointer_append(pointer_append(ptr, "patternProperties"), pp.key());
            const dfa& pd = pattern_dfa(std::string(pp.key()), pointer_append(ptr, "patternProperties"));
            dfa keys = intersect(pd, complement(named_keys), k_max_dfa_states);
            if (names_filter) keys = intersect(keys, *names_filter, k_max_dfa_states);
            for (const pattern_keys& other : pk) {
                overlap = overlap || (!json_equal(*other.schema, pp.value()) && !intersect(other.keys, keys, k_max_dfa_states).empty());
            }
            all_patterns = all_patterns ? unite(*all_patterns, pd, k_max_dfa_states) : pd;
            pk.push_back({std::move(keys), &pp.value(), pptr});
        }
        // A key matching several patterns must satisfy all their schemas: with overlaps, one
        // member kind per non-empty region of the Venn diagram of the patterns.
        if (overlap && pk.size() > 6) refuse(ptr, "patternProperties", "over 6 overlapping patternProperties");
        const unsigned regions = overlap ? (1u << pk.size()) : 0;
        for (unsigned mask = 1; mask < regions; ++mask) {
            std::optional<dfa> region;
            json::array schemas;
            for (std::size_t i = 0; i < pk.size(); ++i) {
                const bool in = (mask & (1u << i)) != 0;
                const dfa part = in ? pk[i].keys : complement(pk[i].keys);
                region = region ? intersect(*region, part, k_max_dfa_states) : part;
                if (in) schemas.push_back(*pk[i].schema);
            }
            if (region->empty()) continue;
            const json::value schema = schemas.size() == 1 ? schemas[0] : json::value(json::object{{"allOf", schemas}});
            const opt_rule v = value_rule(schema, pointer_append(ptr, "patternProperties"), depth + 1);
            if (v) extras.push_back(rules_.add_dfa("key", *region, dfa_context::json_string) + w + "\":\"" + w + *v);
        }
        for (std::size_t i = 0; !overlap && i < pk.size(); ++i) {
            const opt_rule v = value_rule(*pk[i].schema, pk[i].ptr, depth + 1);
            if (v && !pk[i].keys.empty()) extras.push_back(rules_.add_dfa("key", pk[i].keys, dfa_context::json_string) + w + "\":\"" + w + *v);
        }
    } catch (const regex_error& e) {
        refuse(pointer_append(ptr, "patternProperties"), "patternProperties", std::string("patternProperties: ") + e.what());
    }
    if (const opt_rule v = value_rule(*ap, pointer_append(ptr, "additionalProperties"), depth + 1)) {
        try {
            std::string key;
            if (names.empty() && !all_patterns && !names_filter) {
                key = any_string_rule();
            } else {
                dfa keys = complement(all_patterns ? unite(named_keys, *all_patterns, k_max_dfa_states) : named_keys);
                if (names_filter) keys = intersect(keys, *names_filter, k_max_dfa_states);
                if (!keys.empty()) key = rules_.add_dfa("key", keys, dfa_context::json_string);
            }
            if (!key.empty()) extras.push_back(key + w + "\":\"" + w + *v);
        } catch (const regex_error& e) {
            refuse(pointer_append(ptr, "additionalProperties"), "additionalProperties", std::string("key automaton: ") + e.what());
        }
    }
    if (!extras.empty()) {
        std::string body;
        for (const std::string& e : extras) body += (body.empty() ? "" : " | ") + e;
        plan.extra = rules_.add("extra", body);
    }
    // Any order: small objects track every member (each at most once); larger ones track only
    // the required members, and their optional members may repeat (JSON keeps the last).
    plan.any_order = opts_.any_property_order && (plan.named.size() > 1 || (!plan.named.empty() && !plan.extra.empty()));
    if (plan.any_order) {
        const auto limit = static_cast<std::size_t>(std::clamp(opts_.any_order_max_properties, 0, 10));
        const bool all = plan.named.size() <= limit;
        int next = 0;
        for (named_member& m : plan.named) {
            if (all || m.required) m.order_bit = next++;
        }
        if (next > 10) plan.any_order = false;
    }
    try {
        const opt_rule body = object_automaton(plan, rules_, w).emit();
        if (!body) return std::nullopt;
        return rules_.add("object", "\"{\"" + w + *body);
    } catch (const schema_error& e) {
        if (!e.pointer.empty()) throw;
        refuse(ptr, "properties", e.what());
    }
}

}  // namespace sluice::grammar::json_schema_detail
