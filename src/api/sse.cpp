#include "sluice/api/sse.hpp"

#include <boost/json/serialize.hpp>

namespace sluice::api {

// JSON serialisation escapes newlines inside strings, so a frame is always one line.
std::string sse_frame(const boost::json::value& event) { return "data: " + boost::json::serialize(event) + "\n\n"; }

}  // namespace sluice::api
