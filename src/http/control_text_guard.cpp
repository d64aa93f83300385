#include "control_text_guard.hpp"

#include <charconv>

#include "sluice/util/utf8.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;

// U+10FFFD (private use): opens and closes a marker, with the original's index between.
constexpr std::string_view k_mark = "\xF4\x8F\xBF\xBD";

}  // namespace

std::string_view control_text_guard::control_text_at(std::string_view s) const {
    if (s.starts_with(k_mark)) return k_mark;
    const engine::vocab& v = tok_.get_vocab();
    for (const engine::token_id id : tok_.specials_starting_with(static_cast<unsigned char>(s.front()))) {
        const auto& t = v.token(id);  // longest first: the first match is the longest
        if ((t.attr & (engine::attr_control | engine::attr_unknown)) != 0 && s.starts_with(t.text)) return t.text;
    }
    return {};
}

std::optional<std::string> control_text_guard::protect_string(std::string_view s) {
    std::string out;
    std::size_t copied = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const std::string_view hit = control_text_at(s.substr(i));
        if (hit.empty()) continue;
        out.append(s, copied, i - copied);
        out += k_mark;
        out += std::to_string(originals_.size());
        out += k_mark;
        originals_.emplace_back(hit);
        i += hit.size() - 1;
        copied = i + 1;
    }
    if (copied == 0) return std::nullopt;
    out.append(s, copied);
    return out;
}

void control_text_guard::protect(json::object& o) {
    std::vector<std::pair<std::size_t, std::string>> renamed;  // (position, protected key)
    std::size_t i = 0;
    for (auto& kv : o) {
        protect(kv.value());
        if (auto key = protect_string(kv.key())) renamed.emplace_back(i, std::move(*key));
        ++i;
    }
    if (renamed.empty()) return;  // the usual case: keys are the API's own names
    json::object out;
    std::size_t next = 0;
    i = 0;
    for (auto& kv : o) {
        const bool hit = next < renamed.size() && renamed[next].first == i++;
        out[hit ? renamed[next++].second : std::string(kv.key())] = std::move(kv.value());
    }
    o = std::move(out);
}

void control_text_guard::protect(json::value& v) {
    if (v.is_string()) {
        if (auto p = protect_string(v.get_string())) v = json::string(*p);
    } else if (v.is_array()) {
        for (auto& e : v.get_array()) protect(e);
    } else if (v.is_object()) {
        protect(v.get_object());
    }
}

guarded_prompt control_text_guard::restore(std::string_view rendered) const {
    const std::string clean = utf8::is_valid(rendered) ? std::string(rendered) : utf8::sanitize(rendered);
    guarded_prompt g;
    g.text.reserve(clean.size());
    std::size_t pos = 0;
    while (pos < clean.size()) {
        const std::size_t open = clean.find(k_mark, pos);
        if (open == std::string::npos) break;
        const std::size_t digits = open + k_mark.size();
        const std::size_t close = clean.find(k_mark, digits);
        std::size_t index = 0;
        const auto [end, ec] = std::from_chars(clean.data() + digits, clean.data() + (close == std::string::npos ? digits : close), index);
        if (close == std::string::npos || close == digits || ec != std::errc{} || end != clean.data() + close || index >= originals_.size()) {
            g.text.append(clean, pos, digits - pos);  // not a marker of ours: text
            pos = digits;
            continue;
        }
        g.text.append(clean, pos, open - pos);
        g.plain.push_back({g.text.size(), originals_[index].size()});
        g.text += originals_[index];
        pos = close + k_mark.size();
    }
    g.text.append(clean, pos);
    return g;
}

}  // namespace sluice::http::detail
