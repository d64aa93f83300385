#include "sluice/api/sse.hpp"

#include <boost/json/serialize.hpp>

namespace sluice::api {

// JSON serialisation escapes newlines inside strings, so a frame is always one line.
std::string sse_frame(const boost::json::value& event) { return "data: " + boost::json::serialize(event) + "\n\n"; }

std::string sse_event(std::string_view name, const boost::json::value& data) {
    return "event: " + std::string(name) + "\ndata: " + boost::json::serialize(data) + "\n\n";
}

}  // namespace sluice::api
