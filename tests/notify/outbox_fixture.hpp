#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/net/observer.hpp"
#include "adapters/net/outbox_worker.hpp"
#include "bot/clock.hpp"
#include "bot/outbox.hpp"
#include "storage/sqlite_store.hpp"

namespace incident::notify::testing {

// The outbox the notify sinks deliver from, on an in-memory database, as bot/app/main.cpp has it.
struct NotifyOutbox {
    SqliteStore store{":memory:"};
    SystemClock clock;
    Outbox outbox{store, clock};

    // As a committed change does: the event is written for every notify sink, in its own
    // transaction, and the sinks are woken after the commit.
    void write(const Notify& event) {
        outbox.write_now(Effect{event}, event.platform, event.number);
        outbox.wake_written();
    }
    std::vector<OutboxEntry> pending(std::string_view sink) { return outbox.pending(sink); }
    std::vector<OutboxEntry> failed() { return outbox.failed(); }
    // Entries failed for good of `sink`, as /metrics counts them.
    std::int64_t failed_count(std::string_view sink) {
        std::int64_t n = 0;
        for (const auto& f : outbox.counts().failed) {
            if (f.sink == sink) n += f.count;
        }
        return n;
    }
};

// Retries in milliseconds rather than seconds.
inline net::OutboxWorkerOptions fast_retries() {
    net::OutboxWorkerOptions options;
    options.backoff_base = std::chrono::milliseconds(10);
    options.backoff_cap = std::chrono::milliseconds(40);
    return options;
}

// What /metrics is told: permanent failures, by sink and kind.
class FailureCounter final : public net::PlatformObserver {
public:
    void outbox_failed(std::string_view sink, std::string_view kind) override {
        failures.push_back(std::string(sink) + "/" + std::string(kind));
    }
    std::vector<std::string> failures;
};

}  // namespace incident::notify::testing
