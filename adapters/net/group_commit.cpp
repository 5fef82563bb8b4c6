#include "adapters/net/group_commit.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace incident::net {

namespace asio = boost::asio;

constexpr int k_rounds = 4;

struct GroupCommit::Waiter {
    Waiter(std::function<void()> work_to_do, const asio::any_io_executor& executor)
        : work(std::move(work_to_do)), woken(executor, asio::steady_timer::time_point::max()) {}

    std::function<void()> work;
    asio::steady_timer woken;
    std::exception_ptr failure;
    bool done = false;
};

GroupCommit::GroupCommit(asio::any_io_executor executor, std::string name, Transaction transaction,
                         std::size_t max_batch)
    : executor_(std::move(executor)),
      name_(std::move(name)),
      transaction_(std::move(transaction)),
      max_batch_(std::max<std::size_t>(max_batch, 1)) {}

asio::awaitable<void> GroupCommit::run(std::function<void()> work) {
    // Parenthesised: GCC 12 mis-destroys braced temporaries in coroutine frames.
    Waiter waiter(std::move(work), executor_);
    waiting_.push_back(&waiter);
    if (!scheduled_) {
        scheduled_ = true;
        schedule(k_rounds);
    }
    while (!waiter.done) {
        boost::system::error_code cancelled;
        co_await waiter.woken.async_wait(asio::redirect_error(asio::use_awaitable, cancelled));
    }
    if (waiter.failure) std::rethrow_exception(waiter.failure);
}

// A request takes a few turns of the loop from its bytes being read to its run(): the batch
// waits that many turns, so the requests that were read together commit together. Turns are
// microseconds when the loop is idle.
void GroupCommit::schedule(int rounds) {
    asio::post(executor_, [this, rounds] {
        if (rounds > 1) {
            schedule(rounds - 1);
        } else {
            drain();
        }
    });
}

void GroupCommit::drain() {
    scheduled_ = false;
    const std::size_t taken = std::min(waiting_.size(), max_batch_);
    std::vector<Waiter*> batch(waiting_.begin(),
                               waiting_.begin() + static_cast<std::ptrdiff_t>(taken));
    waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(taken));
    if (!waiting_.empty()) {
        scheduled_ = true;
        schedule(1);
    }
    std::exception_ptr commit_failed;
    try {
        transaction_([&] {
            for (Waiter* waiter : batch) {
                try {
                    waiter->work();
                } catch (...) {
                    waiter->failure = std::current_exception();
                }
            }
        });
        ++commits_;
        for (const Waiter* waiter : batch) committed_ += waiter->failure ? 0 : 1;
        spdlog::debug("{}: {} requests in one commit", name_, batch.size());
    } catch (const std::exception& e) {
        spdlog::error("{}: the commit of {} requests failed, each is answered as such: {}", name_,
                      batch.size(), e.what());
        commit_failed = std::current_exception();
    } catch (...) {
        commit_failed = std::current_exception();
    }
    for (Waiter* waiter : batch) {
        if (commit_failed) waiter->failure = commit_failed;
        waiter->done = true;
        waiter->woken.cancel();
    }
}

}  // namespace incident::net
