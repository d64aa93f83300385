#include "field_gate.hpp"

#include <boost/json.hpp>
#include <stdexcept>

#include "sluice/api/api_error.hpp"

namespace sluice::api::detail {
namespace {

namespace json = boost::json;

bool number_equal(const json::value& a, const json::value& b) {
    if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
    return a == b;
}

}  // namespace

bool admit_field(std::vector<std::string>& ignored, const std::string& key, const json::value& v, endpoint_mask endpoint,
                 const parse_options& opt) {
    const field_rule* rule = find_field(key, endpoint);
    if (rule == nullptr) {
        if (opt.strict_fields) throw invalid_request("Unrecognized request argument supplied: " + key, key, "unknown_parameter");
        ignored.push_back(key);
        return false;
    }
    if (rule->use == field_use::honoured) return true;
    if (rule->use == field_use::ignored || v.is_null()) return false;
    for (std::string_view rest = rule->neutral; !rest.empty();) {
        const auto bar = rest.find('|');
        const std::string_view one = rest.substr(0, bar);
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
        if (number_equal(json::parse(one), v)) return false;
    }
    throw invalid_request("Unsupported parameter '" + key + "': " + std::string(rule->note) + ".", key, "unsupported_parameter");
}

void unread_field(const std::string& key) {
    throw std::logic_error("request field '" + key + "' is honoured in its table but no validator reads it");
}

}  // namespace sluice::api::detail
