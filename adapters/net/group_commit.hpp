#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace incident::net {

// Group commit for requests that each store something before they are answered (webhooks):
// the work of every request that is ready when the event loop comes round runs in one
// transaction, so a burst costs one commit (one fsync) instead of one per request. A request
// alone is not held back: it is committed as soon as the loop has run what was already ready.
class GroupCommit {
public:
    // Runs the batch's work inside one transaction and commits it; throws when it could not.
    using Transaction = std::function<void(const std::function<void()>& work)>;

    // `name` prefixes the log lines ("alerts").
    GroupCommit(boost::asio::any_io_executor executor, std::string name, Transaction transaction,
                std::size_t max_batch = 256);
    GroupCommit(const GroupCommit&) = delete;
    GroupCommit& operator=(const GroupCommit&) = delete;

    // Runs `work` in the next batch and returns once that batch has committed. Rethrows what
    // `work` threw (the others of its batch still commit: `work` is expected to roll back its
    // own part) or, when the commit failed, that failure.
    boost::asio::awaitable<void> run(std::function<void()> work);

    // Commits so far, and the requests they stored: for the log and the tests.
    std::size_t commits() const { return commits_; }
    std::size_t committed() const { return committed_; }

private:
    struct Waiter;
    void schedule(int rounds);
    void drain();

    boost::asio::any_io_executor executor_;
    std::string name_;
    Transaction transaction_;
    std::size_t max_batch_;
    std::vector<Waiter*> waiting_;
    bool scheduled_ = false;
    std::size_t commits_ = 0;
    std::size_t committed_ = 0;
};

}  // namespace incident::net
