#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/observer.hpp"
#include "adapters/net/tls_context.hpp"
#include "adapters/notify/email_sink.hpp"
#include "adapters/notify/webhook_sink.hpp"
#include "bot/config.hpp"
#include "bot/outbox.hpp"

namespace incident::notify {

struct NotifierOptions {
    std::optional<WebhookOptions> webhook;
    std::optional<EmailOptions> email;
};

// The sinks the configuration turns on (INCIDENT_BOT_WEBHOOK_*, INCIDENT_BOT_SMTP_*,
// INCIDENT_BOT_STAKEHOLDER_EMAILS, INCIDENT_BOT_CA_FILE).
NotifierOptions notifier_options(const Config& config);

// Every stakeholder sink that is not a chat. Each one configured is a notify sink of the
// outbox ("webhook", "email"): every Notify effect is written for it in the transaction of
// the change that caused it, and its worker delivers it after the commit.
class Notifier {
public:
    Notifier(boost::asio::any_io_executor executor, net::TlsContext tls, Outbox& outbox,
             NotifierOptions options, net::PlatformObserver* observer = nullptr);
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    void start();
    void stop();
    // Until nothing of the sinks is pending and due, or `deadline` (graceful shutdown).
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);

    bool enabled() const { return webhook_ || email_; }
    // Entries of every sink pending in the outbox (tests wait for 0).
    std::size_t pending() const;
    // For /healthz: counters since the start and what is pending, never a URL path or a
    // secret (failed entries are the outbox check's business).
    nlohmann::json health() const;
    WebhookSink* webhook() { return webhook_.get(); }
    EmailSink* email() { return email_.get(); }

private:
    std::unique_ptr<WebhookSink> webhook_;
    std::unique_ptr<EmailSink> email_;
};

}  // namespace incident::notify
