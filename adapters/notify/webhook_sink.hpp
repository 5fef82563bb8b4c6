#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "adapters/net/backoff.hpp"
#include "adapters/net/tls_context.hpp"
#include "bot/events.hpp"

namespace incident::notify {

struct WebhookOptions {
    std::string url;     // INCIDENT_BOT_WEBHOOK_URL
    std::string secret;  // INCIDENT_BOT_WEBHOOK_SECRET
    // Attempts per event for 5xx, 408, timeouts and connection errors; then it is dropped
    // (logged) so one dead receiver cannot hold back every later event forever. A 429 is
    // not a failed attempt: the event waits for Retry-After as often as it is told to.
    unsigned max_attempts = 8;
    net::BackoffOptions backoff{std::chrono::seconds(1), std::chrono::minutes(5),
                                net::Jitter::full};
    std::chrono::milliseconds timeout{10'000};
    // More queued events than this and new ones are refused (logged), not memory exhausted.
    std::size_t queue_limit = 10'000;
};

struct WebhookStats {
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;  // gave up, refused by the receiver, or the queue was full
    std::uint64_t retries = 0;
    std::uint64_t rate_limited = 0;
    std::size_t pending = 0;  // queued, including the one in flight
};

// The JSON body of one event (see README of adapters/notify for the fields).
std::string webhook_body(const Notify& event, const std::string& delivery);

// POSTs every Notify as signed JSON to one URL, in order, from one coroutine on the
// executor: an event is delivered (or given up on) before the next one is sent.
class WebhookSink {
public:
    WebhookSink(boost::asio::any_io_executor executor, net::TlsContext tls, WebhookOptions options);
    ~WebhookSink();
    WebhookSink(const WebhookSink&) = delete;
    WebhookSink& operator=(const WebhookSink&) = delete;

    void start();
    // Ends the worker; what is still queued is logged and not sent.
    void stop();
    // Queues the event; callable from any thread.
    void deliver(const Notify& event);
    // Callable from any thread.
    WebhookStats stats() const;

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace incident::notify
