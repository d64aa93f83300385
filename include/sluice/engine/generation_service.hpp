// Runs generation jobs one at a time, in arrival order, on a worker thread that owns
// the model's compute state (the transformer, KV cache and thread pool). Callers on
// other threads submit jobs and receive tokens through callbacks invoked on that
// worker thread; a job is cancelled by setting its flag (checked before every token).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sluice/engine/generator.hpp"

namespace sluice::engine {

struct generation_job {
    generation_request request;
    std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
    // Worker thread. Return false to stop early.
    std::function<bool(const generated_token&)> on_token;
    // Worker thread, exactly once: the result, or an error message (result is then empty).
    std::function<void(const generation_result&, const std::string& error)> on_done;
};

class generation_service {
public:
    generation_service(const llm_model& m, const vocab& v, std::size_t threads, std::size_t n_ctx);
    ~generation_service();  // finishes the running job's callbacks, drops queued ones (on_done with an error)
    generation_service(const generation_service&) = delete;
    generation_service& operator=(const generation_service&) = delete;

    void submit(generation_job job);
    struct load {
        std::size_t running = 0, queued = 0;
    };
    load current_load() const;
    std::size_t n_ctx() const noexcept { return n_ctx_; }

private:
    void run();

    std::size_t n_ctx_;
    thread_pool pool_;
    generator gen_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<generation_job> queue_;
    bool busy_ = false;
    bool stop_ = false;
    std::thread worker_;
};

}  // namespace sluice::engine
