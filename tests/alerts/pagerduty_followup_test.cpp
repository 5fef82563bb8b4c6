#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "adapters/alerts/alert_routes.hpp"
#include "adapters/alerts/pagerduty.hpp"
#include "adapters/net/http_server.hpp"
#include "adapters/notify/pagerduty_sink.hpp"
#include "bot/alerts.hpp"
#include "bot/clock.hpp"
#include "bot/outbox.hpp"
#include "commands/router.hpp"
#include "fake_pagerduty.hpp"
#include "log_capture.hpp"
#include "protocol_fixture.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"
#include "test_certs.hpp"

// PagerDuty following the incidents it is linked to, through its REST API: a fake of the
// documented API (tests/protocol/pagerduty) that refuses what PagerDuty would refuse.
using namespace incident;
using incident::net::testing::run_async;
using incident::net::testing::system_client_context;
using incident::net::testing::wait_until;
using incident::testing::FakePagerDuty;
using incident::testing::has;
using incident::testing::k_pagerduty_from;
using incident::testing::k_pagerduty_token;
using incident::testing::pagerduty_fixture;
using nlohmann::json;
namespace asio = boost::asio;
using asio::awaitable;
using std::chrono::milliseconds;

namespace {

constexpr const char* k_webhook_secret = "pd-webhook-secret-77";

// The bot as bot/app/main.cpp wires it for PagerDuty: its webhooks into the alert intake,
// commands from a channel, and the sink delivering from the outbox.
struct Bot {
    explicit Bot(asio::io_context& io, FakePagerDuty& pd)
        : routes(intake, alerts::AlertRouteOptions{"", k_webhook_secret}, [](const Effect&) {}),
          sink(io.get_executor(), system_client_context(), outbox, store, options(pd)) {
        service.use_outbox(outbox);
        commands::register_builtin_commands(router);
    }
    static notify::PagerDutyOptions options(const FakePagerDuty& pd) {
        notify::PagerDutyOptions o;
        o.api_url = pd.url();
        o.token = k_pagerduty_token;
        o.from = k_pagerduty_from;
        o.outbox.backoff_base = milliseconds(5);
        o.outbox.backoff_cap = milliseconds(20);
        return o;
    }
    Outcome command(const std::string& text, const std::string& channel) {
        return router.dispatch(CommandRequest{"req-" + std::to_string(++requests), "console",
                                              channel, channel, Actor{"U1", "alice"}, text,
                                              clock.now()});
    }
    // A PagerDuty webhook, signed as PagerDuty signs it.
    json webhook(const std::string& body) {
        web::WebRequest request;
        request.method = "POST";
        request.target = "/alerts/pagerduty";
        request.headers = {
            {"x-pagerduty-signature", alerts::sign_pagerduty(k_webhook_secret, body)}};
        request.body = body;
        request.remote = "127.0.0.1:5000";
        const auto res = routes.handle(request);
        REQUIRE(res.status == 200);
        return json::parse(res.body);
    }
    std::size_t timeline_size(std::int64_t number) { return service.timeline(number).size(); }

    SqliteStore store{":memory:"};
    SystemClock clock;
    Outbox outbox{store, clock};
    IncidentService service{store, clock};
    commands::CommandRouter router{service};
    AlertIntake intake{service, store, AlertOptions{"console", false}};
    alerts::AlertRoutes routes;
    notify::PagerDutySink sink;
    int requests = 0;
};

std::string pd_event(const std::string& name) {
    return incident::testing::protocol_fixture("pagerduty", name + ".docs-envelope.json");
}

}  // namespace

TEST_CASE("pagerduty follow-up: resolving an incident PagerDuty opened resolves it there, once") {
    asio::io_context io;
    FakePagerDuty pd(io);
    Bot bot(io, pd);
    bot.sink.start();
    CHECK(bot.webhook(pd_event("incident_triggered"))["opened"] == true);
    const std::string channel = "C-inc-1";
    bot.service.bind_channel(1, "console", channel, "inc-1");

    // The final severity SEV2 becomes PagerDuty's priority P2, with the resolution.
    REQUIRE(bot.command("resolve sev2 rolled back the deploy", channel).reply.ok);
    CHECK(run_async(io, [&]() -> awaitable<void> {
        CHECK(
            co_await wait_until([&] { return bot.sink.stats().pending == 0; }, milliseconds(5000)));
    }));
    CHECK(pd.refusals.empty());
    CHECK(pd.count("GET /priorities") == 1);
    REQUIRE(pd.count("PUT /incidents/PGR0VU2") == 1);
    CHECK(pd.bodies.back() == pagerduty_fixture("rest_update_incident.request.json"));
    CHECK(bot.store.alerts(1)[0].status == "resolved");

    // PagerDuty's webhook about that resolution, and its priority change, change nothing.
    const std::size_t before = bot.timeline_size(1);
    const json echoed = bot.webhook(pd_event("incident_resolved"));
    CHECK(echoed["new_alerts"] == 0);
    CHECK(echoed["resolved_alerts"] == 0);
    json priority = pagerduty_fixture("incident_priority_updated.docs.json");
    priority["event"]["id"] = "01BZZZZPRIORITYBYBOT";
    priority["event"]["data"]["id"] = "PGR0VU2";
    priority["event"]["data"]["priority"]["summary"] = "P2";
    CHECK(
        has(bot.webhook(priority.dump())["note"].get<std::string>(), "the bot set that priority"));
    CHECK(bot.timeline_size(1) == before);
    // And nothing was sent to PagerDuty because of them.
    CHECK(pd.calls.size() == 2);
}

TEST_CASE("pagerduty follow-up: a linked incident follows severity, 429 and 5xx are retried") {
    asio::io_context io;
    FakePagerDuty pd(io);
    Bot bot(io, pd);
    bot.sink.start();
    const std::string channel = "C-inc-1";
    REQUIRE(bot.command("declare sev3 Search is slow", "general").reply.ok);
    bot.service.bind_channel(1, "console", channel, "inc-1-search-is-slow");

    // Bad ids are refused and change nothing.
    for (const char* bad : {"pagerduty", "pagerduty not-an-id", "pagerduty https://x.example/a",
                            "pagerduty PT4KHLK PT4KHLK"}) {
        const Outcome out = bot.command(bad, channel);
        CHECK_FALSE(out.reply.ok);
        CHECK(has(out.reply.text, "/incident pagerduty"));
    }
    CHECK(bot.store.alerts(1).empty());

    const Outcome linked =
        bot.command("pagerduty https://acme.pagerduty.com/incidents/PT4KHLK", channel);
    REQUIRE(linked.reply.ok);
    CHECK(has(linked.reply.text, "PT4KHLK"));
    CHECK(has(bot.command("pagerduty PT4KHLK", channel).reply.text, "already"));
    REQUIRE(bot.store.alerts(1).size() == 1);
    CHECK(bot.store.alerts(1)[0].url == "https://acme.pagerduty.com/incidents/PT4KHLK");
    // Another incident cannot take it while this one is open.
    REQUIRE(bot.command("declare sev4 Other", "general").reply.ok);
    bot.service.bind_channel(2, "console", "C-inc-2", "inc-2-other");
    const Outcome taken = bot.command("pagerduty PT4KHLK", "C-inc-2");
    CHECK_FALSE(taken.reply.ok);
    CHECK(has(taken.reply.text, "INC-1"));

    // The priorities call is rate limited, then fails once.
    pd.scripted["GET /priorities"] = {429, 503};
    REQUIRE(bot.command("sev 1", channel).reply.ok);
    CHECK(run_async(io, [&]() -> awaitable<void> {
        CHECK(
            co_await wait_until([&] { return bot.sink.stats().pending == 0; }, milliseconds(5000)));
    }));
    CHECK(pd.refusals.empty());
    CHECK(pd.count("GET /priorities") == 3);
    REQUIRE(pd.count("PUT /incidents/PT4KHLK") == 1);
    CHECK(pd.bodies.back()["incident"]["priority"]["id"] == "PSO4EXJ");  // P1
    CHECK_FALSE(pd.bodies.back()["incident"].contains("status"));
    CHECK(bot.store.alerts(1)[0].firing());
}

TEST_CASE("pagerduty follow-up: a merge merges the PagerDuty incidents, a refusal is kept") {
    asio::io_context io;
    FakePagerDuty pd(io);
    Bot bot(io, pd);
    bot.sink.start();
    REQUIRE(bot.command("declare sev2 Checkout down", "general").reply.ok);
    bot.service.bind_channel(1, "console", "C1", "inc-1");
    REQUIRE(bot.command("declare sev2 Payments errors", "general").reply.ok);
    bot.service.bind_channel(2, "console", "C2", "inc-2");
    REQUIRE(bot.command("pagerduty Q1PRIMARY1", "C1").reply.ok);
    REQUIRE(bot.command("pagerduty PGR0VU2", "C2").reply.ok);

    REQUIRE(bot.command("merge INC-1", "C2").reply.ok);
    CHECK(run_async(io, [&]() -> awaitable<void> {
        CHECK(
            co_await wait_until([&] { return bot.sink.stats().pending == 0; }, milliseconds(5000)));
    }));
    CHECK(pd.refusals.empty());
    REQUIRE(pd.count("PUT /incidents/Q1PRIMARY1/merge") == 1);
    CHECK(pd.bodies.back() == pagerduty_fixture("rest_merge_incidents.request.json"));
    CHECK_FALSE(bot.store.alerts(2)[0].firing());

    // PagerDuty refuses (a 404: the incident is gone there): kept as failed, with its words
    // and without the token, and not retried.
    incident::testing::LogCapture logs;
    pd.scripted["PUT /incidents/Q1PRIMARY1"] = {404};
    REQUIRE(bot.command("resolve sev2 done", "C1").reply.ok);
    CHECK(run_async(io, [&]() -> awaitable<void> {
        CHECK(
            co_await wait_until([&] { return bot.sink.stats().pending == 0; }, milliseconds(5000)));
    }));
    const auto failed = bot.outbox.failed();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].sink == "pagerduty");
    CHECK(has(failed[0].error, "HTTP 404"));
    CHECK_FALSE(has(failed[0].error, k_pagerduty_token));
    CHECK_FALSE(logs.contains(k_pagerduty_token));
    CHECK(bot.store.alerts(1)[0].firing());  // PagerDuty did not resolve it
}
