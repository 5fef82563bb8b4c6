#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <deque>
#include <vector>

#include "adapters/net/http_server.hpp"
#include "adapters/notify/notifier.hpp"
#include "adapters/notify/signature.hpp"
#include "adapters/notify/webhook_sink.hpp"
#include "adapters/web/dashboard.hpp"
#include "adapters/web/metrics.hpp"
#include "bot/incident_service.hpp"
#include "commands/router.hpp"
#include "events.hpp"
#include "log_capture.hpp"
#include "outbox_fixture.hpp"
#include "run_async.hpp"
#include "smtp_server.hpp"
#include "test_certs.hpp"

using namespace incident;
using namespace incident::notify;
using incident::net::testing::run_async;
using incident::net::testing::sleep_for;
using incident::net::testing::system_client_context;
using incident::net::testing::TestCertificates;
using incident::net::testing::wait_until;
using incident::notify::testing::FailureCounter;
using incident::notify::testing::NotifyOutbox;
using incident::notify::testing::sample_event;
namespace asio = boost::asio;
using asio::awaitable;
using std::chrono::milliseconds;

namespace {

constexpr const char* k_secret = "whsec-test-secret";

struct Received {
    net::HttpRequest request;
    std::chrono::steady_clock::time_point at;
    nlohmann::json body;
    std::string delivery() const { return request.headers.get(k_delivery_header).value_or(""); }
};

// A webhook receiver on loopback that answers from a script (then 200) and keeps
// every request.
struct Receiver {
    explicit Receiver(asio::io_context& io, net::HttpServerOptions options = {})
        : server(
              io.get_executor(),
              [this](net::HttpRequest request) -> awaitable<net::HttpResponse> {
                  Received r{request, std::chrono::steady_clock::now(),
                             nlohmann::json::parse(request.body, nullptr, false)};
                  received.push_back(r);
                  if (script.empty()) co_return net::HttpResponse::text(200, "ok");
                  auto answer = script.front();
                  script.pop_front();
                  if (answer.delay.count() > 0) co_await sleep_for(answer.delay);
                  co_return answer.response;
              },
              std::move(options)) {
        REQUIRE(server.listen("127.0.0.1:0").ok());
    }

    struct Answer {
        net::HttpResponse response;
        milliseconds delay{0};
    };
    void then(int status, milliseconds delay = milliseconds(0)) {
        script.push_back({net::HttpResponse::text(status, "scripted"), delay});
    }
    std::string url(const std::string& scheme = "http") const {
        return scheme + "://127.0.0.1:" + std::to_string(server.port()) + "/hooks/incident-bot";
    }

    net::HttpServer server;
    std::deque<Answer> script;
    std::vector<Received> received;
};

WebhookOptions fast_options(const std::string& url) {
    WebhookOptions options;
    options.url = url;
    options.secret = k_secret;
    options.outbox = incident::notify::testing::fast_retries();
    options.timeout = milliseconds(2000);
    return options;
}

void check_signed(const Received& r) {
    const auto ts = r.request.headers.get(k_timestamp_header);
    const auto sig = r.request.headers.get(k_signature_header);
    REQUIRE(ts);
    REQUIRE(sig);
    CHECK(sig->starts_with("v1="));
    CHECK(verify_webhook(k_secret, *ts, r.request.body, *sig,
                         static_cast<std::int64_t>(std::time(nullptr))));
    CHECK(r.request.headers.get("Content-Type") == "application/json");
    CHECK(r.request.method == "POST");
    CHECK(r.request.path() == "/hooks/incident-bot");
}

}  // namespace

TEST_CASE("webhook: a 500 is retried from the outbox, deliveries arrive once each, in order") {
    asio::io_context io;
    Receiver receiver(io);
    receiver.then(500);
    NotifyOutbox box;
    WebhookSink sink(io.get_executor(), system_client_context(), box.outbox,
                     fast_options(receiver.url()));
    sink.start();
    const Notify declared = sample_event(NotifyKind::declared);
    const Notify update = sample_event(NotifyKind::update);
    const Notify resolved = sample_event(NotifyKind::resolved);

    CHECK(run_async(io, [&]() -> awaitable<void> {
        box.write(declared);
        box.write(update);
        box.write(resolved);
        CHECK(co_await wait_until([&] { return sink.stats().pending == 0; }, milliseconds(5000)));
    }));
    REQUIRE(receiver.received.size() == 4);
    const auto& r = receiver.received;
    // The first delivery twice (500, then 200), with one id; then the others, in order.
    CHECK(r[0].delivery() == delivery_id(declared));
    CHECK(r[1].delivery() == delivery_id(declared));
    CHECK(r[0].request.headers.get(k_attempt_header) == "1");
    CHECK(r[1].request.headers.get(k_attempt_header) == "2");
    CHECK(r[2].delivery() == delivery_id(update));
    CHECK(r[3].delivery() == delivery_id(resolved));
    std::vector<std::string> events;
    for (const auto& x : r) {
        check_signed(x);
        events.push_back(x.body["event"]);
        CHECK(x.request.headers.get(k_event_header) == x.body["event"]);
        CHECK(x.body["id"] == x.delivery());
        CHECK(x.body["incident"]["key"] == "INC-7");
        CHECK(x.body["incident"]["link"] == "https://bot.example.com/incidents/INC-7");
    }
    CHECK(events == std::vector<std::string>{"declared", "declared", "update", "resolved"});
    const WebhookStats stats = sink.stats();
    CHECK(stats.delivered == 3);
    CHECK(stats.retries == 1);
    CHECK(stats.failed == 0);
    CHECK(box.failed().empty());
}

TEST_CASE("webhook: a 429 waits for Retry-After and keeps the order") {
    asio::io_context io;
    Receiver receiver(io);
    net::HttpResponse limited = net::HttpResponse::text(429, "slow down");
    limited.headers.set("Retry-After", "1");
    receiver.script.push_back({limited, milliseconds(0)});
    receiver.script.push_back({limited, milliseconds(0)});
    NotifyOutbox box;
    WebhookSink sink(io.get_executor(), system_client_context(), box.outbox,
                     fast_options(receiver.url()));
    sink.start();
    const Notify first = sample_event(NotifyKind::declared);
    const Notify second = sample_event(NotifyKind::update);
    CHECK(run_async(io, [&]() -> awaitable<void> {
        box.write(first);
        box.write(second);
        CHECK(co_await wait_until([&] { return sink.stats().pending == 0; }, milliseconds(8000)));
    }));
    const auto& r = receiver.received;
    REQUIRE(r.size() == 4);
    CHECK(r[0].delivery() == delivery_id(first));
    CHECK(r[1].delivery() == delivery_id(first));
    CHECK(r[2].delivery() == delivery_id(first));
    CHECK(r[3].delivery() == delivery_id(second));
    CHECK(r[1].at - r[0].at >= milliseconds(950));  // the backoff alone would be 40 ms at most
    CHECK(r[2].at - r[1].at >= milliseconds(950));
    const WebhookStats stats = sink.stats();
    CHECK(stats.delivered == 2);
    CHECK(stats.rate_limited == 2);
    CHECK(stats.failed == 0);
}

TEST_CASE("webhook: a timeout is retried with the same delivery id") {
    asio::io_context io;
    Receiver receiver(io);
    receiver.then(200, milliseconds(1500));  // answers after the client gave up
    WebhookOptions options = fast_options(receiver.url());
    options.timeout = milliseconds(300);
    NotifyOutbox box;
    WebhookSink sink(io.get_executor(), system_client_context(), box.outbox, options);
    sink.start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        box.write(sample_event(NotifyKind::declared));
        CHECK(co_await wait_until([&] { return sink.stats().delivered == 1; }, milliseconds(5000)));
    }));
    REQUIRE(receiver.received.size() >= 2);
    CHECK(receiver.received[0].delivery() == receiver.received[1].delivery());
    CHECK(sink.stats().retries >= 1);
}

TEST_CASE("webhook: connection errors are retried for the retry window, then kept as failed") {
    asio::io_context io;
    WebhookOptions options = fast_options(
        "http://127.0.0.1:" + std::to_string(incident::notify::testing::free_port()) + "/hook");
    options.outbox.retry_for = milliseconds(300);
    NotifyOutbox box;
    WebhookSink dead(io.get_executor(), system_client_context(), box.outbox, options);
    dead.start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        box.write(sample_event(NotifyKind::declared));
        box.write(sample_event(NotifyKind::resolved, 8));  // another incident, its own lane
        CHECK(co_await wait_until([&] { return dead.stats().pending == 0; }, milliseconds(5000)));
    }));
    const auto failed = box.failed();
    REQUIRE(failed.size() == 2);
    for (const auto& entry : failed) {
        CHECK(entry.sink == "webhook");
        CHECK(entry.kind == "notify");
        CHECK(entry.attempts >= 2);  // retried, not given up on at the first refusal
        CHECK(entry.error.starts_with("POST http://127.0.0.1:"));
        CHECK(entry.error.find("/hook") == std::string::npos);
    }
    CHECK(dead.stats().retries >= 4);
    CHECK(box.failed_count("webhook") == 2);
}

TEST_CASE(
    "webhook: a 410 is failed with the receiver's words, shown, counted, and Retry delivers") {
    asio::io_context io;
    Receiver receiver(io);
    receiver.script.push_back({net::HttpResponse::text(410, "gone: no such hook"), {}});
    NotifyOutbox box;
    web::Metrics metrics;
    class Observer final : public net::PlatformObserver {
    public:
        explicit Observer(web::Metrics& m) : metrics(m) {}
        void outbox_failed(std::string_view sink, std::string_view kind) override {
            metrics.outbox_failed(sink, kind);
        }
        web::Metrics& metrics;
    } observer(metrics);
    WebhookSink sink(io.get_executor(), system_client_context(), box.outbox,
                     fast_options(receiver.url()), &observer);
    IncidentService service(box.store, box.clock);
    web::DashboardOptions dashboard_options;
    dashboard_options.outbox = &box.outbox;
    dashboard_options.outbox_retried = [&] { box.outbox.wake_all(); };
    web::Dashboard dashboard(service, metrics, dashboard_options);
    const auto call = [&](const std::string& method, const std::string& target) {
        return dashboard.handle(web::WebRequest{method, target, {}, {}, "127.0.0.1:1"});
    };
    sink.start();
    const Notify declared = sample_event(NotifyKind::declared);
    const Notify update = sample_event(NotifyKind::update);
    std::int64_t retried = 0;
    CHECK(run_async(io, [&]() -> awaitable<void> {
        box.write(declared);
        box.write(update);
        CHECK(co_await wait_until([&] { return sink.stats().pending == 0; }, milliseconds(5000)));

        // Refused for good: not retried, and it does not hold back the next event.
        REQUIRE(receiver.received.size() == 2);
        CHECK(receiver.received[1].delivery() == delivery_id(update));
        const auto failed = box.failed();
        REQUIRE(failed.size() == 1);
        const OutboxEntry& entry = failed[0];
        CHECK(entry.sink == "webhook");
        CHECK(entry.incident == 7);
        CHECK(entry.attempts == 1);
        CHECK(entry.error == "POST http://127.0.0.1:" + std::to_string(receiver.server.port()) +
                                 ": HTTP 410: gone: no such hook");
        CHECK(box.failed_count("webhook") == 1);
        CHECK(sink.stats().failed == 1);
        CHECK(sink.stats().delivered == 1);

        const auto health = nlohmann::json::parse(call("GET", "/healthz").body);
        CHECK(health["status"] == "degraded");
        CHECK(health["checks"]["outbox"]["failed"] == 1);
        const std::string scraped = call("GET", "/metrics").body;
        CHECK(scraped.find(
                  "incident_bot_outbox_failed_total{platform=\"webhook\",kind=\"notify\"} 1") !=
              std::string::npos);
        const std::string page = call("GET", "/outbox").body;
        CHECK(page.find("HTTP 410: gone: no such hook") != std::string::npos);
        CHECK(page.find("action=\"/outbox/" + std::to_string(entry.id) + "/retry\"") !=
              std::string::npos);

        // The receiver takes it now: Retry delivers it once, with the same delivery id.
        CHECK(call("POST", "/outbox/" + std::to_string(entry.id) + "/retry").status == 303);
        retried = entry.id;
        CHECK(co_await wait_until([&] { return sink.stats().pending == 0; }, milliseconds(5000)));
    }));
    REQUIRE(receiver.received.size() == 3);
    CHECK(receiver.received[2].delivery() == delivery_id(declared));
    check_signed(receiver.received[2]);
    CHECK(box.failed().empty());
    CHECK(sink.stats().delivered == 2);
    const auto delivered = box.outbox.entry(retried);
    REQUIRE(delivered);
    CHECK(delivered->status == OutboxStatus::delivered);
}

TEST_CASE("webhook: over https, verified against the receiver's CA") {
    const TestCertificates certs;
    asio::io_context io;
    net::HttpServerOptions server_options;
    server_options.tls = certs.server_context();
    Receiver receiver(io, server_options);
    NotifyOutbox box;
    WebhookSink sink(io.get_executor(), certs.client_context(), box.outbox,
                     fast_options(receiver.url("https")));
    sink.start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        box.write(sample_event(NotifyKind::declared));
        CHECK(co_await wait_until([&] { return sink.stats().delivered == 1; }, milliseconds(5000)));
    }));
    REQUIRE(receiver.received.size() == 1);
    check_signed(receiver.received[0]);
}

TEST_CASE("webhook: neither the secret nor the URL's token reaches an error or a log line") {
    const std::string token = "T0KEN-in-the-path-0123456789";
    asio::io_context io;
    // A receiver that echoes what it got, as some error pages do.
    net::HttpServer echo(
        io.get_executor(), [&](net::HttpRequest request) -> awaitable<net::HttpResponse> {
            std::string said = "unauthorized " + request.url + " " +
                               request.headers.get(k_signature_header).value_or("");
            said += " secret=" + std::string(k_secret);
            co_return net::HttpResponse::text(401, said);
        });
    REQUIRE(echo.listen("127.0.0.1:0").ok());
    const std::string url = "http://127.0.0.1:" + std::to_string(echo.port()) + "/hooks/" + token;
    NotifyOutbox box;
    incident::testing::LogCapture logs;
    WebhookSink sink(io.get_executor(), system_client_context(), box.outbox, fast_options(url));
    sink.start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        box.write(sample_event(NotifyKind::declared));
        CHECK(co_await wait_until([&] { return sink.stats().pending == 0; }, milliseconds(5000)));
    }));
    const auto failed = box.failed();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].error.find("HTTP 401: unauthorized") != std::string::npos);
    CHECK(failed[0].error.find(token) == std::string::npos);
    CHECK(failed[0].error.find(k_secret) == std::string::npos);
    CHECK(logs.contains("HTTP 401"));
    CHECK_FALSE(logs.contains(token));
    CHECK_FALSE(logs.contains(k_secret));
}

namespace {

// The bot as bot/app/main.cpp wires it, minus the chat platforms: commands change incidents,
// and the outbox carries each Notify to the configured sinks.
struct NotifyingBot {
    NotifyOutbox box;
    IncidentService service{box.store, box.clock, ServiceOptions{"https://bot.example.com", {}}};
    commands::CommandRouter router{service};
    int requests = 0;

    NotifyingBot() {
        service.use_outbox(box.outbox);
        commands::register_builtin_commands(router);
    }
    Outcome command(const std::string& text, const std::string& channel = "general") {
        return router.dispatch(CommandRequest{"req-" + std::to_string(++requests), "console",
                                              channel, channel, Actor{"U1", "alice"}, text,
                                              box.clock.now()});
    }
};

}  // namespace

TEST_CASE("notifier: a command's Notify is written with it and goes out once after the commit") {
    asio::io_context io;
    Receiver receiver(io);
    NotifyingBot bot;
    NotifierOptions options;
    options.webhook = fast_options(receiver.url());
    auto notifier = std::make_unique<Notifier>(io.get_executor(), system_client_context(),
                                               bot.box.outbox, options);
    CHECK(notifier->enabled());

    // Not started yet (as if the process died after the commit): the event waits in the outbox.
    REQUIRE(bot.command("declare sev2 Checkout returns 502s").reply.ok);
    auto pending = bot.box.pending("webhook");
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].kind == "notify");
    CHECK(pending[0].incident == 1);
    // Refused, rolled back: nothing written.
    CHECK_FALSE(bot.command("status mitigated", "general").reply.ok);
    CHECK(bot.box.pending("webhook").size() == 1);

    // A new process (a new notifier on the same database) delivers what was pending.
    notifier.reset();
    notifier = std::make_unique<Notifier>(io.get_executor(), system_client_context(),
                                          bot.box.outbox, options);
    notifier->start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        CHECK(co_await wait_until([&] { return notifier->pending() == 0; }, milliseconds(5000)));
        // And what is decided from now on goes out as it commits.
        const std::string channel = "C-inc-1";
        bot.service.bind_channel(1, "console", channel, "inc-1-checkout-returns-502s");
        REQUIRE(bot.command("update rolled back", channel).reply.ok);
        CHECK(
            co_await wait_until([&] { return receiver.received.size() == 2; }, milliseconds(5000)));
        CHECK(co_await wait_until([&] { return notifier->pending() == 0; }, milliseconds(5000)));
    }));
    REQUIRE(receiver.received.size() == 2);
    CHECK(receiver.received[0].body["event"] == "declared");
    CHECK(receiver.received[0].body["incident"]["key"] == "INC-1");
    CHECK(receiver.received[1].body["event"] == "update");
    const auto health = notifier->health();
    CHECK(health["webhook"]["delivered"] == 2);  // since this notifier started
    CHECK(health["webhook"]["pending"] == 0);
    CHECK_FALSE(health.contains("email"));
    CHECK(health.dump().find(k_secret) == std::string::npos);

    // Chat effects are no notify sink's business.
    CHECK(bot.box.outbox.write_now(Effect{PostMessage{ToAnnouncements{}, "hello"}}, "") == 0);

    NotifyOutbox other;
    Notifier none(io.get_executor(), system_client_context(), other.outbox, NotifierOptions{});
    CHECK_FALSE(none.enabled());
    other.write(sample_event(NotifyKind::declared));  // no sink: nothing written
    CHECK(other.outbox.counts().pending == 0);
}
