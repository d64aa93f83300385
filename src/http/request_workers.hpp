// A bounded pool for the CPU-heavy part of a request: JSON decoding, chat-template
// rendering, tokenization, the store's reads. The network threads then only move bytes, so
// a client sending a 12 MB body cannot hold up /health or anyone's stream.
#pragma once

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

#include "sluice/api/api_error.hpp"

namespace sluice::http::detail {

namespace detail_workers {
// The worker's side: `f` lives in this coroutine's frame until it has run.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> call(F f) {
    co_return f();
}
}  // namespace detail_workers

class request_workers {
public:
    // threads: workers (0: one per core, at least 2); queue_limit: jobs waiting or running at
    // most before run() refuses more with 503.
    request_workers(std::size_t threads, std::size_t queue_limit);
    ~request_workers();  // waits for running jobs
    request_workers(const request_workers&) = delete;
    request_workers& operator=(const request_workers&) = delete;

    // Runs f() on a worker and resumes the caller on its own executor with f's result (or
    // rethrows what f threw). f must not touch what the caller's strand may change meanwhile;
    // the caller is suspended, so its own state is f's to use. Throws api::unavailable when
    // queue_limit jobs are outstanding.
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F&>> run(F f) {
        if (outstanding_.fetch_add(1) >= limit_) {
            outstanding_.fetch_sub(1);
            throw api::unavailable("The server is busy preparing other requests. Retry shortly.", 1);
        }
        const release done{outstanding_};
        co_return co_await boost::asio::co_spawn(pool_.get_executor(), detail_workers::call(std::move(f)), boost::asio::use_awaitable);
    }

    std::size_t outstanding() const noexcept { return outstanding_.load(); }

private:
    struct release {
        std::atomic<std::size_t>& n;
        ~release() { n.fetch_sub(1); }
    };
    boost::asio::thread_pool pool_;
    std::atomic<std::size_t> outstanding_{0};
    std::size_t limit_;
};

}  // namespace sluice::http::detail
