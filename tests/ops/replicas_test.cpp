#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "adapters/net/http_client.hpp"

#include "envelopes.hpp"
#include "fake_slack.hpp"
#include "pg_server.hpp"
#include "process.hpp"
#include "run_async.hpp"
#include "storage/postgres_store.hpp"
#include "storage/pq.hpp"
#include "test_certs.hpp"

// Bot processes on one PostgreSQL database, each with its own Socket Mode connection, the
// way replicas behind one Slack app run.
using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// One replica: a bot process and the Socket Mode connection Slack hands its envelopes to
// (a fake Slack of its own, so the test decides which replica gets which envelope).
struct Replica {
    Replica(asio::io_context& io, const std::string& name, const std::string& database_url,
            const std::vector<std::string>& settings = {})
        : dir(name),
          fake(io.get_executor()),
          listen("127.0.0.1:" + std::to_string(net::testing::free_port())) {
        fake.on_ack = [this](const std::string& id) { acked.insert(id); };
        ProcessOptions options;
        options.env = {
            "SLACK_BOT_TOKEN=" + fake.bot_token, "SLACK_APP_TOKEN=" + fake.app_token,
            "SLACK_API_URL=" + fake.api_url(),   "INCIDENT_BOT_DATABASE_URL=" + database_url,
            "INCIDENT_BOT_LISTEN=" + listen,     "SPDLOG_LEVEL=info"};
        options.env.insert(options.env.end(), settings.begin(), settings.end());
        options.out = dir.path / "bot.out";
        options.err = dir.path / "bot.err";
        bot = std::make_unique<Process>(k_binary, options);
    }
    TempDir dir;
    FakeSlack fake;
    std::string listen;  // also the end of its replica id: "<host>/127.0.0.1:<port>"
    std::set<std::string> acked;
    std::unique_ptr<Process> bot;
};

// Channels named inc-… on either replica's Slack.
int incident_channels(const Replica& a, const Replica& b) {
    int channels = 0;
    for (const FakeSlack* fake : {&a.fake, &b.fake}) {
        for (const auto& [id, name] : fake->channel_names) channels += name.starts_with("inc-");
    }
    return channels;
}

}  // namespace

TEST_CASE(
    "replicas: a declare redelivered to another replica is one incident, two at once get n and "
    "n+1") {
    asio::io_context io;
    PgDatabase db;
    Replica a(io, "replica-a", db.conninfo());
    Replica b(io, "replica-b", db.conninfo());
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await wait_until([&] { return a.fake.connected() && b.fake.connected(); },
                                        milliseconds(20'000)));
            // The same envelope reaches both replicas (Slack redelivering one that was not
            // acked in time to another connection).
            const auto declare =
                slash_envelope("twice", "CGENERAL", "U1", "alice", "declare sev2 Checkout down");
            a.fake.deliver(declare);
            b.fake.deliver(declare);
            REQUIRE(co_await wait_until(
                [&] { return a.acked.count("env-twice") && b.acked.count("env-twice"); },
                milliseconds(20'000)));

            // Two different declares at the same moment, one on each replica.
            a.fake.deliver(
                slash_envelope("left", "CGENERAL", "U2", "bob", "declare sev3 Search is slow"));
            b.fake.deliver(
                slash_envelope("right", "CGENERAL", "U3", "carol", "declare sev4 Logos missing"));
            REQUIRE(co_await wait_until(
                [&] { return a.acked.count("env-left") && b.acked.count("env-right"); },
                milliseconds(20'000)));
            // Channels are made after the ack, by each replica's effect worker.
            REQUIRE(co_await wait_until([&] { return incident_channels(a, b) >= 3; },
                                        milliseconds(20'000)));
        },
        milliseconds(60'000));
    CAPTURE(a.bot->err());
    CAPTURE(b.bot->err());
    REQUIRE(finished);

    PostgresStore store(db.conninfo());
    const auto incidents = store.incidents(true);
    REQUIRE(incidents.size() == 3);
    std::set<std::string> titles;
    std::set<std::int64_t> numbers;
    for (const auto& incident : incidents) {
        titles.insert(incident.title);
        numbers.insert(incident.number);
    }
    CHECK(titles == std::set<std::string>{"Checkout down", "Search is slow", "Logos missing"});
    CHECK(numbers == std::set<std::int64_t>{1, 2, 3});
    // One replica made the channel of the redelivered declare; the other only answered.
    CHECK(incident_channels(a, b) == 3);
}

TEST_CASE("replicas: a reminder due while its leader is killed is sent once, by another replica") {
    asio::io_context io;
    PgDatabase db;
    // Ticks every second, so the "reminders" lease lasts 3 s; a SEV2 nudge after 5 s.
    const std::vector<std::string> quick{"INCIDENT_BOT_REMIND_TICK_SECONDS=1",
                                         "INCIDENT_BOT_REMIND_STATUS_SEV2_SECONDS=5",
                                         "INCIDENT_BOT_REMIND_DIGEST_HOUR=off"};
    Replica a(io, "replica-a", db.conninfo(), quick);
    Replica b(io, "replica-b", db.conninfo(), quick);
    pq::Connection sql(db.conninfo());
    const auto holder = [&]() -> std::string {
        const auto r = sql.exec("SELECT holder FROM leases WHERE name = 'reminders'");
        return r.rows() == 1 ? r.text(0, 0) : std::string();
    };
    const auto pending = [&] {
        return sql.exec("SELECT count(*) FROM outbox WHERE status = 'pending'").int64(0, 0);
    };
    const auto nudges = [](const Replica& r) {
        int n = 0;
        for (const auto& call : r.fake.calls_of("chat.postMessage")) {
            n += has(call.args.value("text", std::string()), "no status update");
        }
        return n;
    };
    Replica* leader = nullptr;
    Replica* survivor = nullptr;
    net::HttpResponse health;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await wait_until([&] { return a.fake.connected() && b.fake.connected(); },
                                        milliseconds(20'000)));
            REQUIRE(co_await wait_until([&] { return !holder().empty(); }, milliseconds(10'000)));
            leader = holder().ends_with("/" + a.listen) ? &a : &b;
            survivor = leader == &a ? &b : &a;
            REQUIRE(holder().ends_with("/" + leader->listen));

            // Declared on the leader, which makes the channel; then it dies before the nudge.
            leader->fake.deliver(
                slash_envelope("sev2", "CGENERAL", "U1", "alice", "declare sev2 Checkout down"));
            REQUIRE(co_await wait_until(
                [&] { return leader->acked.count("env-sev2") && incident_channels(a, b) == 1; },
                milliseconds(20'000)));
            REQUIRE(co_await wait_until([&] { return pending() == 0; }, milliseconds(20'000)));
            // The same workspace seen through the survivor's Slack.
            survivor->fake.channel_names = leader->fake.channel_names;
            leader->bot->signal(SIGKILL);
            REQUIRE((co_await leader->bot->wait(milliseconds(10'000))).has_value());

            // The survivor takes the lease once it ran out, and sends the nudge.
            REQUIRE(
                co_await wait_until([&] { return nudges(*survivor) == 1; }, milliseconds(30'000)));
            REQUIRE(co_await wait_until([&] { return pending() == 0; }, milliseconds(20'000)));
            CHECK(holder().ends_with("/" + survivor->listen));
            net::HttpClient client(io.get_executor(), net::testing::system_client_context());
            net::HttpRequest request;
            request.url = "http://" + survivor->listen + "/healthz";
            health = co_await client.request(std::move(request));
        },
        milliseconds(90'000));
    CAPTURE(a.bot->err());
    CAPTURE(b.bot->err());
    REQUIRE(finished);
    CHECK(nudges(*leader) == 0);
    CHECK(nudges(*survivor) == 1);
    CHECK(sql.exec("SELECT count(*) FROM reminders_sent WHERE kind = 'status'").int64(0, 0) == 1);
    CAPTURE(health.body);
    const auto checks = nlohmann::json::parse(health.body, nullptr, false);
    REQUIRE(checks.contains("checks"));
    const auto replica = checks["checks"]["replica"];
    CHECK(replica["id"].get<std::string>().ends_with("/" + survivor->listen));
    CHECK(replica["leads"].dump().find("reminders") != std::string::npos);
}
