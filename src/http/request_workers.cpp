#include "request_workers.hpp"

#include <algorithm>
#include <thread>

namespace sluice::http::detail {

request_workers::request_workers(std::size_t threads, std::size_t queue_limit)
    : pool_(threads > 0 ? threads : std::max(2u, std::thread::hardware_concurrency())), limit_(std::max<std::size_t>(1, queue_limit)) {}

request_workers::~request_workers() { pool_.join(); }

}  // namespace sluice::http::detail
