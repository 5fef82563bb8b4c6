#pragma once

#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/tls_context.hpp"
#include "adapters/notify/email_sink.hpp"
#include "adapters/notify/webhook_sink.hpp"
#include "bot/config.hpp"
#include "bot/events.hpp"

namespace incident::notify {

struct NotifierOptions {
    std::optional<WebhookOptions> webhook;
    std::optional<EmailOptions> email;
};

// The sinks the configuration turns on (INCIDENT_BOT_WEBHOOK_*, INCIDENT_BOT_SMTP_*,
// INCIDENT_BOT_STAKEHOLDER_EMAILS, INCIDENT_BOT_CA_FILE).
NotifierOptions notifier_options(const Config& config);

// Every stakeholder sink that is not a chat: hand it every effect, it keeps the Notify ones.
class Notifier {
public:
    Notifier(boost::asio::any_io_executor executor, net::TlsContext tls, NotifierOptions options);
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    void start();
    void stop();
    // Never blocks and never throws: queues the event for each sink.
    void deliver(const Effect& effect);

    bool enabled() const { return webhook_ || email_; }
    // Events queued in every sink, including those being sent (a shutdown waits for 0).
    std::size_t pending() const;
    // For /healthz: queue lengths and counters, never a URL path or a secret.
    nlohmann::json health() const;
    WebhookSink* webhook() { return webhook_.get(); }
    EmailSink* email() { return email_.get(); }

private:
    std::unique_ptr<WebhookSink> webhook_;
    std::unique_ptr<EmailSink> email_;
};

}  // namespace incident::notify
