#include "sluice/engine/generation_service.hpp"

#include <exception>

namespace sluice::engine {

generation_service::generation_service(const llm_model& m, const vocab& v, std::size_t threads, std::size_t n_ctx)
    : n_ctx_(n_ctx), pool_(threads), gen_(m, v, pool_, n_ctx), worker_([this] { run(); }) {}

generation_service::~generation_service() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    worker_.join();
    for (auto& job : queue_) {
        if (job.on_done) job.on_done({}, "the server is shutting down");
    }
}

void generation_service::submit(generation_job job) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

generation_service::load generation_service::current_load() const {
    std::lock_guard lock(mutex_);
    return {busy_ ? 1u : 0u, queue_.size()};
}

void generation_service::run() {
    for (;;) {
        generation_job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (stop_) return;
            job = std::move(queue_.front());
            queue_.pop_front();
            busy_ = true;
        }
        generation_result result;
        std::string error;
        if (!job.cancelled->load()) {
            try {
                result = gen_.generate(job.request, [&](const generated_token& t) {
                    if (job.cancelled->load()) return false;
                    return !job.on_token || job.on_token(t);
                });
            } catch (const std::exception& e) {
                error = e.what();
            }
        } else {
            result.finish = finish_reason::cancelled;
        }
        if (job.on_done) job.on_done(result, error);
        std::lock_guard lock(mutex_);
        busy_ = false;
    }
}

}  // namespace sluice::engine
