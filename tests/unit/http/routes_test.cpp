// The router and /openapi.json describe the same routes: every route the router can name is
// documented, and every documented path reaches a route (not "other": a 404).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>

#include "sluice/api/openapi.hpp"
#include "sluice/http/metrics.hpp"

namespace {

namespace json = boost::json;

// A concrete path for a template: {id} -> an id.
std::string example(std::string_view path) {
    std::string p(path);
    for (auto at = p.find("{id}"); at != std::string::npos; at = p.find("{id}")) p.replace(at, 4, "resp_abc");
    return p;
}

TEST(routes, every_route_the_router_serves_is_documented) {
    const json::object doc = sluice::api::openapi_document();
    const auto& paths = doc.at("paths").as_object();
    for (const auto label : sluice::http::endpoint_labels()) EXPECT_TRUE(paths.contains(label)) << label;
}

TEST(routes, every_documented_path_is_routed) {
    const auto labels = sluice::http::endpoint_labels();
    for (const auto& op : sluice::api::api_operations()) {
        const auto label = sluice::http::endpoint_label(example(op.path));
        EXPECT_NE(label, "other") << op.path;
        EXPECT_NE(std::find(labels.begin(), labels.end(), label), labels.end()) << op.path;
        // Served under its own name, or (input_items) under its parent's.
        EXPECT_TRUE(label == op.path || op.path.starts_with(std::string(label) + "/")) << op.path << " -> " << label;
    }
}

}  // namespace
