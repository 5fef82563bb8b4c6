#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "adapters/net/observer.hpp"
#include "adapters/net/outbox_worker.hpp"
#include "bot/events.hpp"
#include "bot/outbox.hpp"

namespace boost::asio {
class thread_pool;
}

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
    // Retries of connection errors, timeouts and 4xx replies: backoff and for how long. 5xx
    // replies, refused logins and a missing STARTTLS fail at once.
    net::OutboxWorkerOptions outbox{std::chrono::hours(24), std::chrono::seconds(2),
                                    std::chrono::minutes(5), std::chrono::seconds(10)};
};

// Since this process started; what is waiting is in the outbox.
struct EmailStats {
    std::uint64_t sent = 0;
    std::uint64_t skipped = 0;  // events stakeholders get no email for (updates, ...)
    std::uint64_t failed = 0;   // refused for good (kept in the outbox)
    std::uint64_t retries = 0;  // attempts that will be tried again
    std::size_t pending = 0;    // entries of the sink pending in the outbox
};

// Sends declared, resolved and post-mortem-published events, as the outbox holds them for
// the sink "email", to the stakeholders over SMTP with libcurl: one SMTP transaction per
// attempt, an incident's events in order. libcurl's easy API blocks, so each transaction
// runs on a thread of the sink's own; its outcome is settled back on the executor, which is
// the only thread that touches the outbox.
class EmailSink {
public:
    static constexpr std::string_view k_sink = "email";

    // Registers the sink with `outbox`: from now on every committed Notify is written for it.
    EmailSink(boost::asio::any_io_executor executor, Outbox& outbox, EmailOptions options,
              net::PlatformObserver* observer = nullptr);
    ~EmailSink();
    EmailSink(const EmailSink&) = delete;
    EmailSink& operator=(const EmailSink&) = delete;

    void start();
    // Aborts the transaction in flight within about a second; nothing new starts. What is
    // left waits in the outbox for the next start.
    void stop();
    // Until nothing is pending and due, or `deadline`.
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);
    // Entries were committed (or retried from the dashboard).
    void wake() { worker_.wake(); }
    EmailStats stats() const;

private:
    // The outcome of one SMTP transaction.
    struct Attempt {
        bool ok = false;
        bool transient = false;
        std::string error;
    };

    boost::asio::awaitable<net::Delivery> deliver_entry(OutboxEntry& entry);
    // Blocks: runs on sender_ only, and reads nothing that changes after construction.
    Attempt send(const std::string& message) const;

    EmailOptions options_;
    Outbox& outbox_;
    std::string server_;         // scheme://host:port, for the log
    std::string envelope_from_;  // <bot@example.com>
    std::string domain_;         // example.com, for Message-ID
    EmailStats stats_;
    std::atomic<bool> abort_{false};  // read by libcurl's progress callback
    std::unique_ptr<boost::asio::thread_pool> sender_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    net::OutboxWorker worker_;
    std::size_t waker_ = 0;  // the outbox's registration of worker_
};

// "libcurl/7.88.1", loading the library (opened on first use); throws std::runtime_error
// when it is not installed.
std::string curl_library_version();

}  // namespace incident::notify
