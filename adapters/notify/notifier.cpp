#include "adapters/notify/notifier.hpp"

#include <spdlog/spdlog.h>

namespace incident::notify {

NotifierOptions notifier_options(const Config& config) {
    NotifierOptions options;
    if (config.webhook_enabled()) {
        WebhookOptions webhook;
        webhook.url = config.webhook_url;
        webhook.secret = config.webhook_secret;
        webhook.outbox = net::outbox_worker_options(config);
        options.webhook = webhook;
    }
    if (config.email_enabled()) {
        EmailOptions email;
        email.url = config.smtp_url;
        email.user = config.smtp_user;
        email.password = config.smtp_password;
        email.from = config.smtp_from;
        email.to = config.stakeholder_emails;
        email.require_tls = config.smtp_require_tls;
        email.ca_file = config.ca_file;
        email.outbox = net::outbox_worker_options(config);
        options.email = email;
    }
    return options;
}

Notifier::Notifier(boost::asio::any_io_executor executor, net::TlsContext tls, Outbox& outbox,
                   NotifierOptions options, net::PlatformObserver* observer) {
    if (options.webhook) {
        webhook_ = std::make_unique<WebhookSink>(executor, std::move(tls), outbox,
                                                 std::move(*options.webhook), observer);
    }
    if (options.email) {
        email_ = std::make_unique<EmailSink>(executor, outbox, std::move(*options.email), observer);
    }
}

Notifier::~Notifier() {
    stop();
}

void Notifier::start() {
    if (webhook_) webhook_->start();
    if (email_) email_->start();
}

void Notifier::stop() {
    if (webhook_) webhook_->stop();
    if (email_) email_->stop();
}

boost::asio::awaitable<void> Notifier::drain(std::chrono::steady_clock::time_point deadline) {
    if (webhook_) co_await webhook_->drain(deadline);
    if (email_) co_await email_->drain(deadline);
}

std::size_t Notifier::pending() const {
    std::size_t n = 0;
    if (webhook_) n += webhook_->stats().pending;
    if (email_) n += email_->stats().pending;
    return n;
}

nlohmann::json Notifier::health() const {
    // Delivery trouble shows in the counters and in the outbox check; it does not make the
    // bot unhealthy here.
    nlohmann::json health{{"ok", true}};
    if (webhook_) {
        const WebhookStats s = webhook_->stats();
        health["webhook"] = {{"pending", s.pending},
                             {"delivered", s.delivered},
                             {"failed", s.failed},
                             {"retries", s.retries},
                             {"rate_limited", s.rate_limited}};
    }
    if (email_) {
        const EmailStats s = email_->stats();
        health["email"] = {
            {"pending", s.pending}, {"sent", s.sent}, {"failed", s.failed}, {"retries", s.retries}};
    }
    return health;
}

}  // namespace incident::notify
