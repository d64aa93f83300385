#include "sluice/util/thread_pool.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

namespace sluice {

std::size_t thread_pool::physical_cores() {
    // Distinct (physical id, core id) pairs in /proc/cpuinfo; falls back to logical CPUs.
    std::ifstream info("/proc/cpuinfo");
    std::set<std::pair<std::string, std::string>> cores;
    std::string line, phys = "0";
    while (std::getline(info, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const auto key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
        const auto value = line.substr(colon + 1);
        if (key == "physical id") phys = value;
        if (key == "core id") cores.emplace(phys, value);
    }
    const std::size_t logical = std::thread::hardware_concurrency();
    if (cores.empty()) return logical > 0 ? logical : 1;
    return cores.size();
}

thread_pool::thread_pool(std::size_t n_threads) {
    if (n_threads == 0) n_threads = physical_cores();
    for (std::size_t i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

thread_pool::~thread_pool() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void thread_pool::work() {
    for (std::size_t i; (i = next_task_.fetch_add(1)) < n_tasks_;) (*fn_)(i);
}

void thread_pool::run(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) {
    if (n_tasks == 0) return;
    if (workers_.empty() || n_tasks == 1) {
        for (std::size_t i = 0; i < n_tasks; ++i) fn(i);
        return;
    }
    {
        std::lock_guard lock(mutex_);
        fn_ = &fn;
        n_tasks_ = n_tasks;
        next_task_.store(0);
        active_.store(workers_.size());
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work();
    while (active_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

void thread_pool::worker_loop() {
    std::uint64_t seen = 0;
    for (;;) {
        // Spin for a while before sleeping: jobs arrive back to back during generation.
        for (int spin = 0; spin < 20000 && generation_.load(std::memory_order_acquire) == seen; ++spin) {
            if (spin > 1000) std::this_thread::yield();
        }
        if (generation_.load(std::memory_order_acquire) == seen) {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
        }
        seen = generation_.load(std::memory_order_acquire);
        {
            std::lock_guard lock(mutex_);
            if (stop_) return;
        }
        work();
        active_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

}  // namespace sluice
