#include "adapters/notify/webhook_sink.hpp"

#include <atomic>
#include <ctime>
#include <deque>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "adapters/net/http_client.hpp"
#include "adapters/net/log_stopped.hpp"
#include "adapters/net/retry_after.hpp"
#include "adapters/net/url.hpp"
#include "adapters/notify/signature.hpp"
#include "bot/text.hpp"

namespace incident::notify {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

struct Job {
    std::string id;
    std::string event;  // "INC-7 resolved", for the log
    std::string kind;
    std::string body;
};

nlohmann::json optional_key(const std::optional<std::int64_t>& n) {
    return n ? nlohmann::json(incident_key(*n)) : nlohmann::json(nullptr);
}

// Retrying helps with these; a 4xx other than 408 and 429 will not change by itself.
bool transient(const net::HttpResponse& response) {
    return response.status == 0 || response.status == 408 || response.status >= 500;
}

std::string describe(const net::HttpResponse& response) {
    if (response.status == 0) return response.error;
    return "HTTP " + std::to_string(response.status);
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
    const nlohmann::json body{
        {"id", delivery},
        {"event", to_string(event.kind)},
        {"at", format_time(event.at)},
        {"at_ms", event.at},
        {"text", event.text},
        {"by", {{"id", event.by.id}, {"name", event.by.name}}},
        {"incident", std::move(incident)},
    };
    return body.dump();
}

struct WebhookSink::State {
    State(asio::any_io_executor executor, net::TlsContext tls, WebhookOptions options)
        : executor(executor),
          options(std::move(options)),
          client(executor, tls, net::HttpClientOptions{this->options.timeout}),
          wake(executor),
          delay(executor) {}

    asio::any_io_executor executor;
    WebhookOptions options;
    net::HttpClient client;
    std::string origin;  // what the log may show of the URL: its path can hold a token
    std::deque<Job> queue;
    asio::steady_timer wake;   // idle wait, cut short by a new event
    asio::steady_timer delay;  // retry wait, cut short only by stop()
    bool stopping = false;
    std::atomic<std::uint64_t> delivered{0}, dropped{0}, retries{0}, rate_limited{0};
    std::atomic<std::size_t> pending{0};

    void pop() {
        queue.pop_front();
        --pending;
    }
};

namespace {

net::HttpRequest make_request(const WebhookSink::State& s, const Job& job, unsigned attempt) {
    // Signed per attempt: a receiver that checks the timestamp's age accepts a late retry.
    const std::string timestamp = std::to_string(static_cast<std::int64_t>(std::time(nullptr)));
    net::HttpRequest request;
    request.method = "POST";
    request.url = s.options.url;
    request.body = job.body;
    request.headers.set("Content-Type", "application/json");
    request.headers.set(std::string(k_event_header), job.kind);
    request.headers.set(std::string(k_delivery_header), job.id);
    request.headers.set(std::string(k_attempt_header), std::to_string(attempt));
    request.headers.set(std::string(k_timestamp_header), timestamp);
    request.headers.set(std::string(k_signature_header),
                        sign_webhook(s.options.secret, timestamp, job.body));
    return request;
}

// Delivers the event at the head of the queue, or gives up on it; pops it either way unless
// the sink is stopping.
asio::awaitable<void> deliver_front(std::shared_ptr<WebhookSink::State> s) {
    const Job job = s->queue.front();
    net::Backoff backoff(s->options.backoff);
    unsigned failures = 0;
    for (unsigned attempt = 1; !s->stopping; ++attempt) {
        net::HttpRequest request = make_request(*s, job, attempt);
        const net::HttpResponse response = co_await s->client.request(std::move(request));
        if (s->stopping) co_return;
        milliseconds wait{0};
        if (response.ok()) {
            ++s->delivered;
            if (attempt > 1) {
                spdlog::info("webhook POST: {} delivered to {} on attempt {} (delivery {})",
                             job.event, s->origin, attempt, job.id);
            } else {
                spdlog::debug("webhook POST: {} delivered to {} (delivery {})", job.event,
                              s->origin, job.id);
            }
            s->pop();
            co_return;
        }
        if (response.status == 429) {
            ++s->rate_limited;
            const auto after = net::retry_after(response);
            wait = after ? std::chrono::duration_cast<milliseconds>(*after) : backoff.next();
            spdlog::warn(
                "webhook POST: {} rate limited by {} (429); retrying in {} ms, {} "
                "event(s) waiting (delivery {})",
                job.event, s->origin, wait.count(), s->queue.size(), job.id);
        } else if (transient(response)) {
            ++failures;
            if (failures >= s->options.max_attempts) {
                ++s->dropped;
                spdlog::error(
                    "webhook POST: gave up on {} to {} after {} failed attempts, the "
                    "last: {} (delivery {})",
                    job.event, s->origin, failures, describe(response), job.id);
                s->pop();
                co_return;
            }
            ++s->retries;
            wait = backoff.next();
            if (const auto after = net::retry_after(response)) {
                wait = std::max(wait, std::chrono::duration_cast<milliseconds>(*after));
            }
            spdlog::warn(
                "webhook POST: {} to {} failed ({}), attempt {} of {}; retrying in {} ms "
                "(delivery {})",
                job.event, s->origin, describe(response), failures, s->options.max_attempts,
                wait.count(), job.id);
        } else {
            ++s->dropped;
            spdlog::error(
                "webhook POST: {} refused by {} with {}; not retried: check the receiver "
                "and INCIDENT_BOT_WEBHOOK_URL (delivery {})",
                job.event, s->origin, describe(response), job.id);
            s->pop();
            co_return;
        }
        s->delay.expires_after(wait);
        boost::system::error_code ec;
        co_await s->delay.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<void> run(std::shared_ptr<WebhookSink::State> s) {
    while (!s->stopping) {
        if (s->queue.empty()) {
            s->wake.expires_after(std::chrono::hours(24));
            boost::system::error_code ec;
            co_await s->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        co_await deliver_front(s);
    }
}

}  // namespace

WebhookSink::WebhookSink(asio::any_io_executor executor, net::TlsContext tls,
                         WebhookOptions options)
    : state_(std::make_shared<State>(executor, std::move(tls), std::move(options))) {
    if (state_->options.max_attempts < 1) state_->options.max_attempts = 1;
    if (const auto url = net::Url::parse(state_->options.url)) {
        state_->origin = std::string(net::to_string(url->scheme)) + "://" + url->host_header();
    } else {
        state_->origin = "(invalid webhook URL)";
    }
}

WebhookSink::~WebhookSink() {
    stop();
}

void WebhookSink::start() {
    spdlog::info("webhook: delivering incident events to {}", state_->origin);
    asio::co_spawn(state_->executor, run(state_), net::LogStopped{"webhook: worker"});
}

void WebhookSink::stop() {
    asio::dispatch(state_->executor, [s = state_] {
        if (s->stopping) return;
        s->stopping = true;
        s->wake.cancel();
        s->delay.cancel();
        if (!s->queue.empty()) {
            spdlog::warn("webhook: stopping with {} event(s) not delivered", s->queue.size());
        }
    });
}

void WebhookSink::deliver(const Notify& event) {
    Job job;
    job.id = delivery_id(event);
    job.event = event.key + " " + std::string(to_string(event.kind));
    job.kind = std::string(to_string(event.kind));
    job.body = webhook_body(event, job.id);
    asio::dispatch(state_->executor, [s = state_, job = std::move(job)]() mutable {
        if (s->stopping) return;
        if (s->queue.size() >= s->options.queue_limit) {
            ++s->dropped;
            spdlog::error("webhook: {} not queued: {} events are already waiting for {}", job.event,
                          s->queue.size(), s->origin);
            return;
        }
        s->queue.push_back(std::move(job));
        ++s->pending;
        s->wake.cancel();
    });
}

WebhookStats WebhookSink::stats() const {
    return WebhookStats{state_->delivered, state_->dropped, state_->retries, state_->rate_limited,
                        state_->pending};
}

}  // namespace incident::notify
