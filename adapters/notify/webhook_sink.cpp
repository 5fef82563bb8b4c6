#include "adapters/notify/webhook_sink.hpp"

#include <ctime>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "adapters/net/url.hpp"
#include "adapters/notify/redact.hpp"
#include "adapters/notify/signature.hpp"
#include "bot/text.hpp"

namespace incident::notify {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

nlohmann::json optional_key(const std::optional<std::int64_t>& n) {
    return n ? nlohmann::json(incident_key(*n)) : nlohmann::json(nullptr);
}

}  // namespace

std::string webhook_body(const Notify& event, const std::string& delivery) {
    nlohmann::json incident{
        {"number", event.number},
        {"key", event.key},
        {"title", event.title},
        {"severity", to_string(event.severity)},
        {"final_severity", event.final_severity ? nlohmann::json(to_string(*event.final_severity))
                                                : nlohmann::json(nullptr)},
        {"state", to_string(event.state)},
        {"merged_into", optional_key(event.merged_into)},
        {"platform", event.platform},
        {"channel", event.channel_name},
        {"link", event.link.empty() ? nlohmann::json(nullptr) : nlohmann::json(event.link)},
        // A publication links its permanent version; every other event the draft.
        {"postmortem_link", !event.postmortem_link.empty() ? nlohmann::json(event.postmortem_link)
                            : event.link.empty()           ? nlohmann::json(nullptr)
                                                 : nlohmann::json(event.link + "/postmortem")},
    };
    nlohmann::json body{
        {"id", delivery},
        {"event", to_string(event.kind)},
        {"at", format_time(event.at)},
        {"at_ms", event.at},
        {"text", event.text},
        {"by", {{"id", event.by.id}, {"name", event.by.name}}},
        {"incident", std::move(incident)},
    };
    // What a status page publication said, as customers read it.
    if (event.public_state) body["public_state"] = to_string(*event.public_state);
    if (event.component_status) {
        body["component"] = {{"name", event.component},
                             {"status", to_string(*event.component_status)}};
    }
    return body.dump();
}

WebhookSink::WebhookSink(asio::any_io_executor executor, net::TlsContext tls, Outbox& outbox,
                         WebhookOptions options, net::PlatformObserver* observer)
    : options_(std::move(options)),
      outbox_(outbox),
      client_(executor, std::move(tls), net::HttpClientOptions{options_.timeout}),
      worker_(
          executor, outbox, std::string(k_sink),
          [this](OutboxEntry& entry) { return deliver_entry(entry); }, options_.outbox, observer) {
    if (const auto url = net::Url::parse(options_.url)) {
        origin_ = std::string(net::to_string(url->scheme)) + "://" + url->host_header();
    } else {
        origin_ = "(invalid webhook URL)";
    }
    waker_ = outbox_.add_notify_sink(std::string(k_sink), [this] { worker_.wake(); });
}

WebhookSink::~WebhookSink() {
    *alive_ = false;
    outbox_.forget_waker(k_sink, waker_);
    stop();
}

void WebhookSink::start() {
    spdlog::info("webhook: delivering incident events to {}", origin_);
    worker_.start();
}

void WebhookSink::stop() {
    worker_.stop();
}

asio::awaitable<void> WebhookSink::drain(std::chrono::steady_clock::time_point deadline) {
    co_await worker_.drain(deadline);
}

WebhookStats WebhookSink::stats() const {
    WebhookStats s = stats_;
    s.pending = worker_.pending();
    return s;
}

std::string WebhookSink::safe(std::string_view text) const {
    std::string_view userinfo;
    if (const auto scheme = options_.url.find("://"); scheme != std::string::npos) {
        const std::string_view rest = std::string_view(options_.url).substr(scheme + 3);
        const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
        if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
            userinfo = authority.substr(0, at);
        }
    }
    std::string_view target;
    const auto url = net::Url::parse(options_.url);
    if (url && url->target.size() > 1) target = url->target;
    return server_words(text, {options_.url, options_.secret, userinfo, target});
}

asio::awaitable<net::Delivery> WebhookSink::deliver_entry(OutboxEntry& entry) {
    const auto effect = effect_from_json(entry.payload);
    const Notify* event = effect ? std::get_if<Notify>(&*effect) : nullptr;
    if (!event) co_return net::Delivery::fail("this incident-bot cannot read the stored event");
    // The same on every attempt and after a restart: computed from the stored event.
    const std::string id = delivery_id(*event);
    const std::string what = event->key + " " + std::string(to_string(event->kind));
    const std::string body = webhook_body(*event, id);
    // Signed per attempt: a receiver that checks the timestamp's age accepts a late retry.
    const std::string timestamp = std::to_string(static_cast<std::int64_t>(std::time(nullptr)));
    net::HttpRequest request;
    request.method = "POST";
    request.url = options_.url;
    request.body = body;
    request.headers.set("Content-Type", "application/json");
    request.headers.set(std::string(k_event_header), std::string(to_string(event->kind)));
    request.headers.set(std::string(k_delivery_header), id);
    request.headers.set(std::string(k_attempt_header), std::to_string(entry.attempts + 1));
    request.headers.set(std::string(k_timestamp_header), timestamp);
    request.headers.set(std::string(k_signature_header),
                        sign_webhook(options_.secret, timestamp, body));

    const auto alive = alive_;
    const net::HttpResponse response = co_await client_.request(std::move(request));
    if (!*alive) co_return net::Delivery::retry("stopped before the answer was read");
    if (response.ok()) {
        ++stats_.delivered;
        spdlog::debug("webhook POST: {} delivered to {} on attempt {} (delivery {})", what, origin_,
                      entry.attempts + 1, id);
        co_return net::Delivery::done();
    }
    net::Delivery refused = net::delivery_of_refusal(
        response, "POST " + origin_ + ": " + safe(net::describe_answer(response)));
    if (response.status == 429) ++stats_.rate_limited;
    if (refused.status == net::Delivery::Status::transient) {
        ++stats_.retries;
    } else {
        ++stats_.failed;  // logged once by the worker, with the error
    }
    co_return refused;
}

}  // namespace incident::notify
