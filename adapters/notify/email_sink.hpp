#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/net/backoff.hpp"
#include "bot/events.hpp"

namespace incident::notify {

struct EmailOptions {
    std::string url;  // smtp://host:port (STARTTLS when offered) or smtps://host:port
    std::string user;
    std::string password;
    std::string from;             // "bot@example.com" or "Incident Bot <bot@example.com>"
    std::vector<std::string> to;  // the stakeholders
    // smtp:// only: fail unless the server takes STARTTLS (CURLUSESSL_ALL), rather than
    // falling back to clear text when it does not offer it (CURLUSESSL_TRY).
    bool require_tls = false;
    std::string ca_file;  // PEM bundle trusted besides the system CAs (INCIDENT_BOT_CA_FILE)
    std::chrono::milliseconds timeout{30'000};
    // Attempts per email for connection errors, timeouts and 4xx replies; 5xx replies and
    // refused logins are not retried.
    unsigned max_attempts = 5;
    net::BackoffOptions backoff{std::chrono::seconds(2), std::chrono::minutes(5),
                                net::Jitter::full};
    std::size_t queue_limit = 1'000;
};

struct EmailStats {
    std::uint64_t sent = 0;
    std::uint64_t dropped = 0;
    std::uint64_t retries = 0;
    std::size_t pending = 0;  // queued, including the one being sent
};

// Sends declared, resolved and post-mortem-published events to the stakeholders over SMTP
// with libcurl. libcurl's easy API blocks, so mail goes out from a worker thread of its
// own, fed by a queue, one message at a time and in order.
class EmailSink {
public:
    explicit EmailSink(EmailOptions options);
    ~EmailSink();
    EmailSink(const EmailSink&) = delete;
    EmailSink& operator=(const EmailSink&) = delete;

    void start();
    // Aborts the message in flight within about a second; what is still queued is logged
    // and not sent.
    void stop();
    // Queues the event when it is one stakeholders get email for; callable from any thread.
    void deliver(const Notify& event);
    EmailStats stats() const;

private:
    struct Job {
        std::string event;  // "INC-7 resolved", for the log
        std::string message;
    };
    // The outcome of one SMTP transaction.
    struct Attempt {
        bool ok = false;
        bool transient = false;
        std::string error;
    };

    void run();
    Attempt send(const Job& job) const;

    EmailOptions options_;
    std::string server_;         // scheme://host:port, for the log
    std::string envelope_from_;  // <bot@example.com>
    std::string domain_;         // example.com, for Message-ID
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    bool busy_ = false;
    bool stopping_ = false;
    std::atomic<bool> abort_{false};  // read by libcurl's progress callback
    EmailStats stats_;
    std::thread worker_;
};

}  // namespace incident::notify
