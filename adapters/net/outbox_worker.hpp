#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/observer.hpp"
#include "bot/outbox.hpp"

namespace incident {
struct Config;
}

namespace incident::net {

// How one attempt at delivering an outbox entry ended.
struct Delivery {
    enum class Status { delivered, transient, permanent };
    Status status = Status::delivered;
    std::string error;  // the platform's own words: logged, stored, shown on the dashboard
    std::optional<std::chrono::milliseconds> retry_after;  // the platform asked for this wait

    static Delivery done() { return {}; }
    static Delivery retry(std::string error,
                          std::optional<std::chrono::milliseconds> after = std::nullopt) {
        return {Status::transient, std::move(error), after};
    }
    static Delivery fail(std::string error) {
        return {Status::permanent, std::move(error), std::nullopt};
    }
};

struct HttpResponse;

// An HTTP answer as an outbox entry keeps it: "HTTP 410: <body>", or why none came back.
std::string describe_answer(const HttpResponse& response);
// What a refusal means for an entry, `error` naming the call: no answer, 408, 420, 429 and
// 5xx are tried again (after the Retry-After the server asked for); any other 4xx will not
// change by itself and is kept as failed.
Delivery delivery_of_refusal(const HttpResponse& response, std::string error);

// An entry's progress record: which steps of a many-step effect (a channel, its members,
// its topic, its summary) are done, as the Deliver function saved them in entry.result.
nlohmann::json progress_of(const OutboxEntry& entry);

struct OutboxWorkerOptions {
    // Transient failures are retried this long after the entry was written, then it fails.
    std::chrono::milliseconds retry_for = std::chrono::hours(24);
    // Between attempts: base * 2^(attempts - 1), at most cap, each drawn from [half, all].
    std::chrono::milliseconds backoff_base{1000};
    std::chrono::milliseconds backoff_cap{std::chrono::minutes(5)};
    // The outbox is read again at least this often, for entries that were written
    // without a wake() (another process, another component's transaction).
    std::chrono::milliseconds sweep{10'000};
};

// The options of every sink's worker, from the settings (INCIDENT_BOT_OUTBOX_RETRY_SECONDS).
OutboxWorkerOptions outbox_worker_options(const Config& config);

// Delivers the outbox entries of one sink ("slack", "email", ...) after they were committed.
// Entries of one incident (a lane) go out one at a time, in the order they were written;
// lanes do not wait for one another. A transient failure keeps its lane waiting for the
// retry (order is kept); a permanent one is stored as failed, logged once, and the lane
// goes on. Nothing is kept in memory that the store does not also hold, so a restart
// delivers whatever was pending. Used from the executor's thread only.
class OutboxWorker {
public:
    // One attempt. It may record progress in entry.result (and Outbox::save it) between
    // the steps of an effect, so that a retry or a restart resumes after the last one done.
    using Deliver = std::function<boost::asio::awaitable<Delivery>(OutboxEntry& entry)>;
    // An entry was just stored as failed (refused for good, or retried past retry_for): for
    // a sink whose effect leaves state of its own behind (a file download) to settle it.
    using Failed = std::function<void(const OutboxEntry& entry)>;

    OutboxWorker(boost::asio::any_io_executor executor, Outbox& outbox, std::string sink,
                 Deliver deliver, OutboxWorkerOptions options = {},
                 PlatformObserver* observer = nullptr);
    ~OutboxWorker();
    OutboxWorker(const OutboxWorker&) = delete;
    OutboxWorker& operator=(const OutboxWorker&) = delete;

    void on_failed(Failed failed) { failed_ = std::move(failed); }
    void start();
    // Deliveries under way finish their call; nothing new starts.
    void stop();
    // Entries were committed (or retried from the dashboard): look again now.
    void wake();
    // Pending entries of this sink, in the store (tests wait for 0).
    std::size_t pending() const;
    // An attempt is under way (it finishes its call even after stop()).
    bool delivering() const { return !running_.empty(); }
    // Until nothing is pending and due, or `deadline` (graceful shutdown).
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);
    const std::string& sink() const { return sink_; }

private:
    // Each coroutine holds `alive`: once the worker is gone it ends without touching it.
    boost::asio::awaitable<void> run(std::shared_ptr<bool> alive);
    // Claims the due heads and starts their lanes; how long to wait before looking again
    // (nullopt: at once). Throws what the store throws.
    std::optional<std::chrono::milliseconds> schedule(const std::shared_ptr<bool>& alive);
    // Delivers `first` (claimed), then the lane's next entries while they are due.
    boost::asio::awaitable<void> lane(OutboxEntry first, std::shared_ptr<bool> alive);
    // The lane's oldest pending entry, claimed, when it is due and nobody else holds it.
    std::optional<OutboxEntry> next_in_lane(std::int64_t incident);
    // Stores the attempt's outcome; true when the lane may go on to its next entry.
    bool settle(OutboxEntry& entry, const Delivery& delivery);
    std::chrono::milliseconds backoff(int attempts);
    void failed(const OutboxEntry& entry);

    // Heads claimed in one statement at most; a full batch is followed by the next at once.
    static constexpr std::size_t k_claim_batch = 100;
    // A head found due but claimed by nobody: another replica was claiming it. Looked at again
    // after this, when its claim has been committed (or was not).
    static constexpr std::chrono::milliseconds k_contended{200};

    boost::asio::any_io_executor executor_;
    Outbox& outbox_;
    std::string sink_;
    Deliver deliver_;
    Failed failed_;
    OutboxWorkerOptions options_;
    PlatformObserver* observer_;
    boost::asio::steady_timer wake_;
    std::set<std::int64_t> running_;  // lanes with an attempt under way
    std::mt19937_64 rng_{std::random_device{}()};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool woken_ = false;
    bool started_ = false;
    bool stopping_ = false;
};

}  // namespace incident::net
