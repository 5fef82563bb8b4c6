#include "adapters/net/effect_queue.hpp"

#include <exception>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/log_stopped.hpp"
#include "adapters/net/shutdown.hpp"

namespace incident::net {

namespace asio = boost::asio;

EffectQueue::EffectQueue(asio::any_io_executor executor, std::string platform)
    : executor_(executor), platform_(std::move(platform)), wake_(executor) {}

void EffectQueue::start() {
    asio::co_spawn(executor_, run(), LogStopped{platform_ + ": effect worker"});
}

void EffectQueue::stop() {
    if (stopping_) return;
    stopping_ = true;
    wake_.cancel();
    if (const std::size_t left = pending(); left > 0) {
        spdlog::warn("{}: stopping with {} effect(s) not executed", platform_, left);
    }
}

void EffectQueue::push(Job job) {
    queue_.push_back(std::move(job));
    wake_.cancel();
}

asio::awaitable<void> EffectQueue::run() {
    while (!stopping_) {
        if (queue_.empty()) {
            wake_.expires_after(std::chrono::hours(24));
            boost::system::error_code ec;
            co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        const Job job = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        try {
            co_await job();
        } catch (const std::exception& e) {
            spdlog::error("{}: effect failed: {}", platform_, e.what());
        }
        busy_ = false;
    }
}

asio::awaitable<void> EffectQueue::drain(std::chrono::steady_clock::time_point deadline) {
    std::function<bool()> idle = [this] { return pending() == 0; };
    co_await poll_until(executor_, deadline, std::move(idle));
}

}  // namespace incident::net
