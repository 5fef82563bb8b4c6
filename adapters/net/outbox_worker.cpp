#include "adapters/net/outbox_worker.hpp"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/net/http_types.hpp"
#include "adapters/net/log_stopped.hpp"
#include "adapters/net/retry_after.hpp"
#include "adapters/net/shutdown.hpp"
#include "bot/config.hpp"

namespace incident::net {

OutboxWorkerOptions outbox_worker_options(const Config& config) {
    OutboxWorkerOptions options;
    options.retry_for = std::chrono::milliseconds(config.outbox_retry_ms);
    return options;
}

namespace asio = boost::asio;
using std::chrono::milliseconds;

std::string describe_answer(const HttpResponse& response) {
    if (response.status == 0) return response.error;
    std::string out = "HTTP " + std::to_string(response.status);
    if (!response.body.empty()) out += ": " + response.body;
    return out;
}

Delivery delivery_of_refusal(const HttpResponse& response, std::string error) {
    // 420 is the rate limit of some APIs (Statuspage documents it beside 429).
    const bool transient = response.status == 0 || response.status == 408 ||
                           response.status == 420 || response.status == 429 ||
                           response.status >= 500;
    if (!transient) return Delivery::fail(std::move(error));
    std::optional<milliseconds> wait;
    if (const auto after = retry_after(response))
        wait = std::chrono::duration_cast<milliseconds>(*after);
    return Delivery::retry(std::move(error), wait);
}

namespace {

std::string lane_name(std::int64_t incident) {
    if (incident < 0) return "files of " + incident_key(incident_of_lane(incident));
    return incident ? incident_key(incident) : std::string("no incident");
}

}  // namespace

nlohmann::json progress_of(const OutboxEntry& entry) {
    nlohmann::json p = nlohmann::json::parse(entry.result, nullptr, false);
    return p.is_object() ? p : nlohmann::json::object();
}

OutboxWorker::OutboxWorker(asio::any_io_executor executor, Outbox& outbox, std::string sink,
                           Deliver deliver, OutboxWorkerOptions options, PlatformObserver* observer)
    : executor_(executor),
      outbox_(outbox),
      sink_(std::move(sink)),
      deliver_(std::move(deliver)),
      options_(options),
      observer_(observer),
      wake_(executor) {}

OutboxWorker::~OutboxWorker() {
    *alive_ = false;
    stop();
}

void OutboxWorker::start() {
    if (started_) return;
    started_ = true;
    asio::co_spawn(executor_, run(alive_), LogStopped{sink_ + ": outbox worker"});
}

void OutboxWorker::stop() {
    if (stopping_) return;
    stopping_ = true;
    wake_.cancel();
}

void OutboxWorker::wake() {
    woken_ = true;
    wake_.cancel();
}

std::size_t OutboxWorker::pending() const {
    return outbox_.pending(sink_).size();
}

asio::awaitable<void> OutboxWorker::drain(std::chrono::steady_clock::time_point deadline) {
    std::function<bool()> idle = [this] {
        if (!running_.empty()) return false;
        const Timestamp now = outbox_.now();
        for (const auto& e : outbox_.pending(sink_)) {
            // Due and not another replica's: about to go out.
            if (e.next_attempt_at <= now && !e.claimed_elsewhere(outbox_.owner(), now)) {
                return false;
            }
        }
        return true;
    };
    co_await poll_until(executor_, deadline, std::move(idle));
}

asio::awaitable<void> OutboxWorker::run(std::shared_ptr<bool> alive) {
    try {
        if (const std::size_t left = pending(); left > 0) {
            spdlog::info("{}: {} effect(s) pending in the outbox; delivering", sink_, left);
        }
    } catch (const std::exception& e) {
        spdlog::error("{}: cannot read the outbox: {}", sink_, e.what());
    }
    bool store_failed = false;
    while (!stopping_) {
        woken_ = false;
        std::optional<milliseconds> wait;
        try {
            wait = schedule(alive);
            if (store_failed) spdlog::info("{}: the outbox can be read again", sink_);
            store_failed = false;
        } catch (const std::exception& e) {
            // The database is away: nothing was claimed; look again after a pause.
            if (!store_failed) spdlog::error("{}: cannot read the outbox: {}", sink_, e.what());
            store_failed = true;
            wait = options_.backoff_base;
        }
        if (woken_ || stopping_ || !wait) continue;
        wake_.expires_after(*wait);
        boost::system::error_code ec;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive) co_return;
    }
}

std::optional<milliseconds> OutboxWorker::schedule(const std::shared_ptr<bool>& alive) {
    // The heads due now, claimed in one statement: heads other replicas hold or are taking
    // are left to them, so each entry goes out from one process.
    std::vector<OutboxEntry> claimed = outbox_.claim_heads(sink_, k_claim_batch);
    bool started = false;
    for (auto& entry : claimed) {
        // A lane of ours under way holds its head already; the claim was only renewed.
        if (!running_.insert(entry.incident).second) continue;
        started = true;
        const std::string name = sink_ + ": outbox lane " + lane_name(entry.incident);
        asio::co_spawn(executor_, lane(std::move(entry), alive), LogStopped{name});
    }
    // A full batch: more heads may be due, claimed at once.
    if (claimed.size() >= k_claim_batch && started) return std::nullopt;

    std::optional<Timestamp> next_due;
    std::set<std::int64_t> heads;
    const Timestamp now = outbox_.now();
    for (const auto& entry : outbox_.pending(sink_)) {
        // Only the oldest entry of a lane may go: the others wait behind it.
        if (!heads.insert(entry.incident).second) continue;
        if (running_.count(entry.incident)) continue;
        // Another replica is delivering this lane: look again when its claim runs out.
        Timestamp due = entry.claimed_elsewhere(outbox_.owner(), now)
                            ? std::max(entry.next_attempt_at, *entry.claimed_until)
                            : entry.next_attempt_at;
        // Due but not claimed: another replica's claim of it was under way. Soon again.
        if (due <= now) due = now + k_contended.count();
        if (!next_due || due < *next_due) next_due = due;
    }
    milliseconds wait = options_.sweep;
    if (next_due) wait = std::min(wait, milliseconds(std::max<Timestamp>(*next_due - now, 1)));
    return wait;
}

asio::awaitable<void> OutboxWorker::lane(OutboxEntry first, std::shared_ptr<bool> alive) {
    const std::int64_t incident = first.incident;
    std::optional<OutboxEntry> head = std::move(first);
    while (head && !stopping_) {
        Delivery delivery;
        try {
            delivery = co_await deliver_(*head);
        } catch (const std::exception& e) {
            delivery = Delivery::retry(e.what());
        }
        if (!*alive) co_return;
        bool go_on = false;
        try {
            go_on = settle(*head, delivery);
        } catch (const std::exception& e) {
            // The store refused the outcome: the entry stays as it was, and is tried again.
            spdlog::error("{}: outbox entry {} ({} of {}): could not record the outcome: {}", sink_,
                          head->id, head->kind, lane_name(incident), e.what());
        }
        head.reset();
        if (!go_on || stopping_) break;
        try {
            head = next_in_lane(incident);
        } catch (const std::exception& e) {
            // The run loop claims the lane's head again once the store answers.
            spdlog::error("{}: cannot read the outbox: {}", sink_, e.what());
        }
    }
    running_.erase(incident);
    wake();
}

std::optional<OutboxEntry> OutboxWorker::next_in_lane(std::int64_t incident) {
    std::optional<OutboxEntry> head;
    for (auto& entry : outbox_.pending(sink_)) {
        if (entry.incident == incident) {
            head = std::move(entry);
            break;
        }
    }
    if (!head || head->next_attempt_at > outbox_.now()) return std::nullopt;
    // Taken by another replica since it was read: that one delivers the lane.
    if (!outbox_.claim(*head)) return std::nullopt;
    return head;
}

bool OutboxWorker::settle(OutboxEntry& entry, const Delivery& delivery) {
    const Timestamp now = outbox_.now();
    const std::string what = entry.kind + " of " + lane_name(entry.incident);
    switch (delivery.status) {
        case Delivery::Status::delivered:
            if (entry.attempts > 0) {
                spdlog::info("{}: {} delivered after {} failed attempt(s)", sink_, what,
                             entry.attempts);
            }
            entry.status = OutboxStatus::delivered;
            entry.done_at = now;
            entry.error.clear();
            outbox_.save(entry);
            return true;
        case Delivery::Status::transient: {
            ++entry.attempts;
            entry.error = delivery.error;
            if (now - entry.created_at >= options_.retry_for.count()) {
                entry.status = OutboxStatus::failed;
                entry.done_at = now;
                spdlog::error(
                    "{}: {} failed for good after {} attempt(s) over {} s: {} (retry it from "
                    "the dashboard's Outbox page)",
                    sink_, what, entry.attempts, (now - entry.created_at) / 1000, entry.error);
                if (observer_) observer_->outbox_failed(sink_, entry.kind);
                outbox_.save(entry);
                failed(entry);
                return true;
            }
            milliseconds wait = backoff(entry.attempts);
            if (delivery.retry_after) wait = std::max(wait, *delivery.retry_after);
            entry.next_attempt_at = now + wait.count();
            // The first failure says what happened; later ones only at debug level.
            if (entry.attempts == 1) {
                spdlog::warn("{}: {} not delivered yet: {}; retrying with backoff", sink_, what,
                             entry.error);
            } else {
                spdlog::debug("{}: {} attempt {} failed: {}; next in {} ms", sink_, what,
                              entry.attempts, entry.error, wait.count());
            }
            outbox_.save(entry);
            return false;  // the lane keeps its order: nothing behind it goes first
        }
        case Delivery::Status::permanent:
            ++entry.attempts;
            entry.status = OutboxStatus::failed;
            entry.error = delivery.error;
            entry.done_at = now;
            spdlog::error("{}: {} failed: {} (kept as failed; retry it from the dashboard)", sink_,
                          what, entry.error);
            if (observer_) observer_->outbox_failed(sink_, entry.kind);
            outbox_.save(entry);
            failed(entry);
            return true;
    }
    return false;
}

void OutboxWorker::failed(const OutboxEntry& entry) {
    if (!failed_) return;
    try {
        failed_(entry);
    } catch (const std::exception& e) {
        // The entry is stored as failed either way; what depends on it stays as it was.
        spdlog::error("{}: outbox entry {} ({}): settling its failure failed: {}", sink_, entry.id,
                      entry.kind, e.what());
    }
}

milliseconds OutboxWorker::backoff(int attempts) {
    const std::int64_t base = options_.backoff_base.count();
    const std::int64_t cap = options_.backoff_cap.count();
    std::int64_t delay = base;
    for (int i = 1; i < attempts && delay < cap; ++i) delay *= 2;
    delay = std::min(delay, cap);
    std::uniform_int_distribution<std::int64_t> jitter(delay / 2, delay);
    return milliseconds(std::max<std::int64_t>(jitter(rng_), 1));
}

}  // namespace incident::net
