#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "adapters/net/http_client.hpp"
#include "adapters/net/observer.hpp"
#include "adapters/net/outbox_worker.hpp"
#include "adapters/net/tls_context.hpp"
#include "bot/events.hpp"
#include "bot/outbox.hpp"

namespace incident::notify {

struct WebhookOptions {
    std::string url;     // INCIDENT_BOT_WEBHOOK_URL
    std::string secret;  // INCIDENT_BOT_WEBHOOK_SECRET
    std::chrono::milliseconds timeout{10'000};
    // Retries of 5xx, 408, 429, timeouts and connection errors: backoff and for how long.
    net::OutboxWorkerOptions outbox;
};

// Since this process started; what is waiting is in the outbox.
struct WebhookStats {
    std::uint64_t delivered = 0;
    std::uint64_t failed = 0;   // refused by the receiver for good (kept in the outbox)
    std::uint64_t retries = 0;  // attempts that will be tried again (429s included)
    std::uint64_t rate_limited = 0;
    std::size_t pending = 0;  // entries of the sink pending in the outbox
};

// The JSON body of one event (see README of adapters/notify for the fields).
std::string webhook_body(const Notify& event, const std::string& delivery);

// POSTs every Notify written into the outbox for the sink "webhook" as signed JSON to one
// URL: one POST per attempt, an incident's events in order, retried from the outbox after a
// failure or a restart. Used from the executor's thread only.
class WebhookSink {
public:
    static constexpr std::string_view k_sink = "webhook";

    // Registers the sink with `outbox`: from now on every committed Notify is written for it.
    WebhookSink(boost::asio::any_io_executor executor, net::TlsContext tls, Outbox& outbox,
                WebhookOptions options, net::PlatformObserver* observer = nullptr);
    ~WebhookSink();
    WebhookSink(const WebhookSink&) = delete;
    WebhookSink& operator=(const WebhookSink&) = delete;

    void start();
    // The POST in flight finishes; nothing new starts. What is left waits in the outbox.
    void stop();
    // Until nothing is pending and due, or `deadline`.
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);
    // Entries were committed (or retried from the dashboard).
    void wake() { worker_.wake(); }
    WebhookStats stats() const;

private:
    boost::asio::awaitable<net::Delivery> deliver_entry(OutboxEntry& entry);
    // An error as it may be stored and shown: nothing of the URL but its origin, no secret.
    std::string safe(std::string_view text) const;

    WebhookOptions options_;
    Outbox& outbox_;
    net::HttpClient client_;
    std::string origin_;  // what the log may show of the URL: its path can hold a token
    WebhookStats stats_;
    // Read after each POST: the sink may be gone by then.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    net::OutboxWorker worker_;
    std::size_t waker_ = 0;  // the outbox's registration of worker_
};

}  // namespace incident::notify
