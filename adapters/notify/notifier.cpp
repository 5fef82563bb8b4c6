#include "adapters/notify/notifier.hpp"

#include <spdlog/spdlog.h>

namespace incident::notify {

NotifierOptions notifier_options(const Config& config) {
    NotifierOptions options;
    if (config.webhook_enabled()) {
        WebhookOptions webhook;
        webhook.url = config.webhook_url;
        webhook.secret = config.webhook_secret;
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
        options.email = email;
    }
    return options;
}

Notifier::Notifier(boost::asio::any_io_executor executor, net::TlsContext tls,
                   NotifierOptions options) {
    if (options.webhook) {
        webhook_ = std::make_unique<WebhookSink>(executor, tls, std::move(*options.webhook));
    }
    if (options.email) email_ = std::make_unique<EmailSink>(std::move(*options.email));
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

void Notifier::deliver(const Effect& effect) {
    const auto* event = std::get_if<Notify>(&effect);
    if (!event) return;
    try {
        if (webhook_) webhook_->deliver(*event);
        if (email_) email_->deliver(*event);
    } catch (const std::exception& e) {
        // Called right after a commit: a sink's trouble must not turn into a failed command.
        spdlog::error("notify: {} {} not queued: {}", event->key, to_string(event->kind), e.what());
    }
}

std::size_t Notifier::pending() const {
    std::size_t n = 0;
    if (webhook_) n += webhook_->stats().pending;
    if (email_) n += email_->stats().pending;
    return n;
}

nlohmann::json Notifier::health() const {
    // Delivery trouble shows in the counters; it does not make the bot unhealthy.
    nlohmann::json health{{"ok", true}};
    if (webhook_) {
        const WebhookStats s = webhook_->stats();
        health["webhook"] = {{"pending", s.pending},
                             {"delivered", s.delivered},
                             {"dropped", s.dropped},
                             {"retries", s.retries},
                             {"rate_limited", s.rate_limited}};
    }
    if (email_) {
        const EmailStats s = email_->stats();
        health["email"] = {{"pending", s.pending},
                           {"sent", s.sent},
                           {"dropped", s.dropped},
                           {"retries", s.retries}};
    }
    return health;
}

}  // namespace incident::notify
