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
#include "events.hpp"
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
    options.max_attempts = 4;
    options.backoff = net::BackoffOptions{milliseconds(10), milliseconds(40), net::Jitter::full};
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

TEST_CASE("webhook: a 500 is retried, deliveries arrive in order and verify") {
    asio::io_context io;
    Receiver receiver(io);
    receiver.then(500);
    WebhookSink sink(io.get_executor(), system_client_context(), fast_options(receiver.url()));
    sink.start();
    const Notify declared = sample_event(NotifyKind::declared);
    const Notify update = sample_event(NotifyKind::update);
    const Notify resolved = sample_event(NotifyKind::resolved);

    CHECK(run_async(io, [&]() -> awaitable<void> {
        sink.deliver(declared);
        sink.deliver(update);
        sink.deliver(resolved);
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
    }
    CHECK(events == std::vector<std::string>{"declared", "declared", "update", "resolved"});
    const WebhookStats stats = sink.stats();
    CHECK(stats.delivered == 3);
    CHECK(stats.retries == 1);
    CHECK(stats.dropped == 0);
}

TEST_CASE("webhook: a 429 waits for Retry-After and keeps the order") {
    asio::io_context io;
    Receiver receiver(io);
    net::HttpResponse limited = net::HttpResponse::text(429, "slow down");
    limited.headers.set("Retry-After", "1");
    receiver.script.push_back({limited, milliseconds(0)});
    receiver.script.push_back({limited, milliseconds(0)});
    WebhookOptions options = fast_options(receiver.url());
    options.max_attempts = 1;  // a 429 is no failed attempt: the event is still not dropped
    WebhookSink sink(io.get_executor(), system_client_context(), options);
    sink.start();
    const Notify first = sample_event(NotifyKind::declared);
    const Notify second = sample_event(NotifyKind::update);
    CHECK(run_async(io, [&]() -> awaitable<void> {
        sink.deliver(first);
        sink.deliver(second);
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
    CHECK(stats.dropped == 0);
}

TEST_CASE("webhook: a timeout is retried with the same delivery id") {
    asio::io_context io;
    Receiver receiver(io);
    receiver.then(200, milliseconds(1500));  // answers after the client gave up
    WebhookOptions options = fast_options(receiver.url());
    options.timeout = milliseconds(300);
    WebhookSink sink(io.get_executor(), system_client_context(), options);
    sink.start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        sink.deliver(sample_event(NotifyKind::declared));
        CHECK(co_await wait_until([&] { return sink.stats().delivered == 1; }, milliseconds(5000)));
    }));
    REQUIRE(receiver.received.size() >= 2);
    CHECK(receiver.received[0].delivery() == receiver.received[1].delivery());
    CHECK(sink.stats().retries >= 1);
}

TEST_CASE("webhook: connection errors are retried, then given up on, and the queue moves on") {
    asio::io_context io;
    WebhookOptions options =
        fast_options("http://127.0.0.1:" + std::to_string(testing::free_port()) + "/hook");
    options.max_attempts = 3;
    WebhookSink dead(io.get_executor(), system_client_context(), options);
    dead.start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        dead.deliver(sample_event(NotifyKind::declared));
        dead.deliver(sample_event(NotifyKind::resolved));
        CHECK(co_await wait_until([&] { return dead.stats().pending == 0; }, milliseconds(5000)));
    }));
    CHECK(dead.stats().dropped == 2);
    CHECK(dead.stats().retries == 4);  // two retries for each of the two events
}

TEST_CASE("webhook: a 4xx is not retried and does not hold back the next event") {
    asio::io_context io;
    Receiver receiver(io);
    receiver.then(400);
    WebhookSink sink(io.get_executor(), system_client_context(), fast_options(receiver.url()));
    sink.start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        sink.deliver(sample_event(NotifyKind::declared));
        sink.deliver(sample_event(NotifyKind::resolved));
        CHECK(co_await wait_until([&] { return sink.stats().pending == 0; }, milliseconds(5000)));
    }));
    REQUIRE(receiver.received.size() == 2);
    CHECK(receiver.received[1].body["event"] == "resolved");
    CHECK(sink.stats().dropped == 1);
    CHECK(sink.stats().delivered == 1);
}

TEST_CASE("webhook: over https, verified against the receiver's CA") {
    const TestCertificates certs;
    asio::io_context io;
    net::HttpServerOptions server_options;
    server_options.tls = certs.server_context();
    Receiver receiver(io, server_options);
    WebhookSink sink(io.get_executor(), certs.client_context(),
                     fast_options(receiver.url("https")));
    sink.start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        sink.deliver(sample_event(NotifyKind::declared));
        CHECK(co_await wait_until([&] { return sink.stats().delivered == 1; }, milliseconds(5000)));
    }));
    REQUIRE(receiver.received.size() == 1);
    check_signed(receiver.received[0]);
}

TEST_CASE("notifier: keeps the Notify effects and ignores chat effects") {
    asio::io_context io;
    Receiver receiver(io);
    NotifierOptions options;
    options.webhook = fast_options(receiver.url());
    Notifier notifier(io.get_executor(), system_client_context(), options);
    CHECK(notifier.enabled());
    notifier.start();
    CHECK(run_async(io, [&]() -> awaitable<void> {
        notifier.deliver(Effect{PostMessage{ToAnnouncements{}, "hello"}});
        notifier.deliver(Effect{SetTopic{7, "topic"}});
        notifier.deliver(Effect{sample_event(NotifyKind::merged)});
        CHECK(co_await wait_until([&] { return notifier.webhook()->stats().delivered == 1; },
                                  milliseconds(5000)));
        co_await sleep_for(milliseconds(50));
    }));
    REQUIRE(receiver.received.size() == 1);
    CHECK(receiver.received[0].body["event"] == "merged");
    const auto health = notifier.health();
    CHECK(health["webhook"]["delivered"] == 1);
    CHECK_FALSE(health.contains("email"));
    CHECK(health.dump().find(k_secret) == std::string::npos);

    Notifier none(io.get_executor(), system_client_context(), NotifierOptions{});
    CHECK_FALSE(none.enabled());
    none.deliver(Effect{sample_event(NotifyKind::declared)});  // nothing to do, no crash
}
