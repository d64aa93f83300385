// The field tables (api/field_policy.hpp) applied to a request body: every validator asks
// admit_field about each top-level key before reading it, so a key its code reads but its
// table does not list is never reached (it is unknown), and a key the table calls honoured
// that no code reads is a bug unread_field reports (the unit tests send every one).
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "sluice/api/completion_request.hpp"
#include "sluice/api/field_policy.hpp"

namespace sluice::api::detail {

// True when `key` is honoured on `endpoint`: the caller reads and validates it. Otherwise
// the field is dealt with here and the caller skips it: an unknown field is appended to
// `ignored` (400 unknown_parameter under strict_fields), an ignored one is dropped, a
// refused one passes when null or one of its neutral values and is 400
// unsupported_parameter otherwise.
bool admit_field(std::vector<std::string>& ignored, const std::string& key, const boost::json::value& v, endpoint_mask endpoint,
                 const parse_options& options);

// Throws std::logic_error (a 500 for the client): the table honours `key`, no code read it.
[[noreturn]] void unread_field(const std::string& key);

}  // namespace sluice::api::detail
