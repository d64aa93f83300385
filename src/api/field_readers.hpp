// Typed readers for request fields, shared by the request parsers. Each throws api_error 400
// naming the field (by its path, e.g. "tools[0].function.name") when the value is of the
// wrong type or out of range.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

namespace sluice::api::detail {

std::string kind_name(const boost::json::value& v);
[[noreturn]] void wrong_type(const std::string& field, const char* wanted, const boost::json::value& v);
double number(const std::string& field, const boost::json::value& v, double lo, double hi);
std::int64_t integer(const std::string& field, const boost::json::value& v, std::int64_t lo, std::int64_t hi);
bool boolean(const std::string& field, const boost::json::value& v);
std::string string(const std::string& field, const boost::json::value& v);
// 400 unsupported_parameter: "<what> is not supported by this server ('<field>')".
[[noreturn]] void unsupported(const std::string& field, const std::string& what);

}  // namespace sluice::api::detail
