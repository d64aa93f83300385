// A persistent pool for data-parallel kernels. `run(n, fn)` calls fn(i) for every
// i in [0, n) across the pool's threads and the calling thread, and returns when
// all are done. Workers spin briefly between jobs (decode issues thousands of small
// jobs per second, too short for a condition-variable round trip), then sleep.
//
// One caller at a time: `run` is not re-entrant and must not be called concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice {

class thread_pool {
public:
    // n_threads includes the caller; 0 means the number of physical cores.
    explicit thread_pool(std::size_t n_threads = 0);
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    std::size_t size() const noexcept { return workers_.size() + 1; }

    // Calls fn(i) for i in [0, n_tasks); tasks are handed out dynamically.
    void run(std::size_t n_tasks, const std::function<void(std::size_t)>& fn);

    static std::size_t physical_cores();

private:
    void worker_loop();
    void work();

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::size_t> next_task_{0};
    std::atomic<std::size_t> active_{0};
    std::size_t n_tasks_ = 0;
    const std::function<void(std::size_t)>* fn_ = nullptr;
    bool stop_ = false;
};

}  // namespace sluice
