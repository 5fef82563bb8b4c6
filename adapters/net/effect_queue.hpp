#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace incident::net {

// A chat adapter's outgoing work (posts, channel creation, topics): jobs run one at a time,
// in the order they were pushed, by one worker coroutine on the executor. A job that throws
// is logged and the next one runs. Used from the executor's thread only.
class EffectQueue {
public:
    // Kept alive (in the worker's frame) until the awaitable it returned has finished, so
    // the coroutine it starts may refer to what the job holds.
    using Job = std::function<boost::asio::awaitable<void>()>;

    // `platform` starts every log line ("slack: effect failed: ...").
    EffectQueue(boost::asio::any_io_executor executor, std::string platform);
    EffectQueue(const EffectQueue&) = delete;
    EffectQueue& operator=(const EffectQueue&) = delete;

    // Spawns the worker.
    void start();
    // Ends the worker after the job in flight; what is still queued is logged and not run.
    void stop();
    void push(Job job);
    // Queued and not yet finished, the one in flight included (tests wait for 0).
    std::size_t pending() const { return queue_.size() + (busy_ ? 1 : 0); }
    // Until every queued job has run or `deadline` passes (graceful shutdown).
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);

private:
    boost::asio::awaitable<void> run();

    boost::asio::any_io_executor executor_;
    std::string platform_;
    std::deque<Job> queue_;
    boost::asio::steady_timer wake_;
    bool busy_ = false;
    bool stopping_ = false;
};

}  // namespace incident::net
