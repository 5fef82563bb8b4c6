#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "adapters/net/http_client.hpp"

#include "envelopes.hpp"
#include "fake_mattermost.hpp"
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
using net::testing::sleep_for;
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

// A replica on Mattermost: every replica opens its own WebSocket as the bot, and the server
// sends each of them every event (here: a fake server of its own per replica, which the
// test hands the same posts).
struct MattermostReplica {
    MattermostReplica(asio::io_context& io, const std::string& name,
                      const std::string& database_url)
        : dir(name),
          fake(io.get_executor()),
          listen("127.0.0.1:" + std::to_string(net::testing::free_port())) {
        ProcessOptions options;
        options.env = {"MATTERMOST_URL=" + fake.url(),
                       "MATTERMOST_TOKEN=" + fake.token,
                       "MATTERMOST_TEAM=ops",
                       "INCIDENT_BOT_PUBLIC_URL=http://" + listen,
                       "INCIDENT_BOT_DATABASE_URL=" + database_url,
                       "INCIDENT_BOT_LISTEN=" + listen,
                       "SPDLOG_LEVEL=info"};
        options.out = dir.path / "bot.out";
        options.err = dir.path / "bot.err";
        bot = std::make_unique<Process>(k_binary, options);
    }
    // The bot's posts into `channel` whose message holds `text`.
    int posts_with(const std::string& channel, const std::string& text) const {
        int n = 0;
        for (const auto& call : fake.calls_of("POST", "posts")) {
            n += call.body.value("channel_id", "") == channel &&
                 has(call.body.value("message", ""), text);
        }
        return n;
    }
    TempDir dir;
    FakeMattermost fake;
    std::string listen;
    std::unique_ptr<Process> bot;
};

// A replica on the test's one fake Slack, as replicas of one Slack app run: each holds a
// Socket Mode connection of its own, and Slack spreads the envelopes over them.
struct SlackAppReplica {
    SlackAppReplica(const FakeSlack& slack, const std::string& name,
                    const std::string& database_url)
        : dir(name), listen("127.0.0.1:" + std::to_string(net::testing::free_port())) {
        ProcessOptions options;
        options.env = {
            "SLACK_BOT_TOKEN=" + slack.bot_token, "SLACK_APP_TOKEN=" + slack.app_token,
            "SLACK_API_URL=" + slack.api_url(),   "INCIDENT_BOT_DATABASE_URL=" + database_url,
            "INCIDENT_BOT_LISTEN=" + listen,      "SPDLOG_LEVEL=info"};
        options.out = dir.path / "bot.out";
        options.err = dir.path / "bot.err";
        bot = std::make_unique<Process>(k_binary, options);
    }
    TempDir dir;
    std::string listen;
    std::unique_ptr<Process> bot;
};

constexpr int k_flood = 5000;
constexpr std::size_t k_window = 500;  // envelopes Slack has in flight at most

std::string flood_ts(int i) {
    return std::to_string(1'800'001'000 + i) + ".000100";
}

// A Slack app with several connections, the chatter flood sent to it, and what was acked.
struct FloodedApp {
    explicit FloodedApp(asio::io_context& io) : slack(io.get_executor()) {
        slack.spread_over_connections = true;
        slack.keep_acks = false;
        // The announcement channel exists, so the set-up checks (and /healthz) pass.
        slack.channel_names["CINCIDENTS"] = "incidents";
        slack.on_ack = [this](const std::string& id) {
            acked.insert(id);
            if (on_ack) on_ack();
        };
    }

    // Declares INC-1 and returns its channel, once the bot made it.
    asio::awaitable<std::string> declare(pq::Connection& sql) {
        slack.deliver(
            slash_envelope("flood-declare", "CGENERAL", "U1", "alice", "declare sev1 Flood"));
        std::string channel;
        const bool made = co_await wait_until(
            [&] {
                const auto r = sql.exec("SELECT channel_id FROM incidents WHERE number = 1");
                if (r.rows() == 1) channel = r.text(0, 0);
                return !channel.empty();
            },
            milliseconds(20'000));
        REQUIRE(made);
        co_return channel;
    }

    // `count` chatter messages into `channel`, at most k_window unacked at a time.
    asio::awaitable<void> flood(std::string channel, int count) {
        for (int i = 0; i < count; ++i) {
            REQUIRE(co_await wait_until([&] { return slack.unacked() < k_window; },
                                        milliseconds(60'000)));
            slack.deliver(events_envelope(
                "F" + std::to_string(i),
                message_event(channel, "U2", flood_ts(i), "flood " + std::to_string(i))));
        }
        flooded = true;
    }

    std::size_t acked_flood() const {
        std::size_t n = 0;
        for (const auto& id : acked) n += id.starts_with("env-F");
        return n;
    }

    // Every acked chatter message is on INC-1's timeline exactly once, and so is every
    // message of the flood once all of it was acked.
    void check_stored_once(pq::Connection& sql, int count) const {
        const auto r = sql.exec(
            "SELECT message_id, count(*) FROM timeline_entries WHERE incident = 1 AND kind = "
            "'message' GROUP BY message_id");
        std::map<std::string, std::int64_t> stored;
        for (int row = 0; row < r.rows(); ++row) stored[r.text(row, 0)] = r.int64(row, 1);
        for (const auto& [message, times] : stored)
            CHECK_MESSAGE(times == 1, message << " stored " << times << " times");
        for (const auto& id : acked) {
            if (!id.starts_with("env-F")) continue;
            const auto it = stored.find(flood_ts(std::stoi(id.substr(5))));
            CHECK_MESSAGE(it != stored.end(), id << " acked but not stored");
        }
        CHECK(acked_flood() == std::size_t(count));
        CHECK(stored.size() == std::size_t(count));
    }

    FakeSlack slack;
    std::set<std::string> acked;
    std::function<void()> on_ack;
    bool flooded = false;
};

// /healthz of the bot listening on `listen`: its HTTP status (0 when it did not answer).
asio::awaitable<int> health_status(asio::io_context& io, const std::string& listen) {
    net::HttpClient client(io.get_executor(), net::testing::system_client_context());
    net::HttpRequest request;
    request.url = "http://" + listen + "/healthz";
    const net::HttpResponse response = co_await client.request(std::move(request));
    co_return response.status;
}

// Asks /healthz until `wanted` says yes about its status, at most `limit`.
asio::awaitable<bool> health_becomes(asio::io_context& io, const std::string& listen,
                                     std::function<bool(int)> wanted, milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (wanted(co_await health_status(io, listen))) co_return true;
        co_await sleep_for(milliseconds(100));
    }
    co_return false;
}

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
    net::HttpClient client(io.get_executor(), net::testing::system_client_context());
    const auto get = [&](const Replica& replica, const char* path) {
        net::HttpRequest request;
        request.url = "http://" + replica.listen + path;
        return client.request(std::move(request));
    };
    net::HttpResponse standby_metrics;
    net::HttpResponse leading_metrics;
    net::HttpResponse home;
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
            standby_metrics = co_await get(*survivor, "/metrics");
            leader->bot->signal(SIGKILL);
            REQUIRE((co_await leader->bot->wait(milliseconds(10'000))).has_value());

            // The survivor takes the lease once it ran out, and sends the nudge.
            REQUIRE(
                co_await wait_until([&] { return nudges(*survivor) == 1; }, milliseconds(30'000)));
            REQUIRE(co_await wait_until([&] { return pending() == 0; }, milliseconds(20'000)));
            CHECK(holder().ends_with("/" + survivor->listen));
            health = co_await get(*survivor, "/healthz");
            leading_metrics = co_await get(*survivor, "/metrics");
            home = co_await get(*survivor, "/");
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

    // The dashboard names the replica and its role; /metrics says which jobs it leads.
    const std::string id = replica["id"].get<std::string>();
    const std::string reminders_series =
        "incident_bot_replica_leads{replica=\"" + id + "\",job=\"reminders\"} ";
    CAPTURE(standby_metrics.body);
    CAPTURE(leading_metrics.body);
    CHECK(standby_metrics.body.find(reminders_series + "0") != std::string::npos);
    CHECK(leading_metrics.body.find(reminders_series + "1") != std::string::npos);
    CAPTURE(home.body);
    CHECK(home.status == 200);
    CHECK(home.body.find("<span class=\"replica\">replica " + id + " · leads ") !=
          std::string::npos);
}

TEST_CASE("replicas: on Mattermost each replica reads every event, and each is captured once") {
    asio::io_context io;
    PgDatabase db;
    MattermostReplica a(io, "mm-replica-a", db.conninfo());
    MattermostReplica b(io, "mm-replica-b", db.conninfo());
    pq::Connection sql(db.conninfo());
    const auto count = [&](const std::string& query) { return sql.exec(query).int64(0, 0); };
    const std::string alice = mm_id("alice");
    std::string channel;
    // Evaluated when an assertion fails, inside the coroutine too.
    CAPTURE(a.bot->err());
    CAPTURE(b.bot->err());
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            // Connected, and /incident registered by each replica's set-up.
            REQUIRE(co_await wait_until(
                [&] {
                    return a.fake.connected() && b.fake.connected() && !a.fake.commands.empty() &&
                           !b.fake.commands.empty();
                },
                milliseconds(20'000)));
            co_await a.fake.run_command(a.fake.town_square_id, alice, "declare sev2 Checkout down");
            // Either replica's effect worker may take the channel's creation.
            MattermostReplica* maker = nullptr;
            REQUIRE(co_await wait_until(
                [&] {
                    for (MattermostReplica* r : {&a, &b}) {
                        for (const auto& [id, c] : r->fake.channels) {
                            if (c.name.starts_with("inc-1-")) {
                                channel = id;
                                maker = r;
                            }
                        }
                    }
                    return maker != nullptr;
                },
                milliseconds(20'000)));
            // One workspace, seen through the other replica's connection too.
            (maker == &a ? b : a).fake.channels = maker->fake.channels;
            // Responders post once the bot has the channel as the incident's (it invites them
            // after): a post before that is in no incident's channel, for either replica.
            REQUIRE(co_await wait_until(
                [&] {
                    return sql.exec("SELECT count(*) FROM incidents WHERE channel_id = $1",
                                    {channel})
                               .int64(0, 0) == 1;
                },
                milliseconds(20'000)));

            // Each message reaches both replicas' sockets.
            nlohmann::json post;
            for (const std::string text : {"TODO: roll back the deploy", "error rate is back"}) {
                post = a.fake.post_message(channel, alice, text);
                b.fake.deliver_post(post);
            }
            // Each connection is read in order: once this is captured, so is what came before.
            a.fake.post_message(channel, alice, "replica a read it all");
            post["id"] = mm_id("onlyb");
            post["message"] = "replica b read it all";
            b.fake.deliver_post(post);
            REQUIRE(co_await wait_until(
                [&] {
                    return count(
                               "SELECT count(*) FROM timeline_entries WHERE text LIKE "
                               "'replica _ read it all'") == 2 &&
                           count("SELECT count(*) FROM outbox WHERE status = 'pending'") == 0;
                },
                milliseconds(20'000)));
        },
        milliseconds(60'000));
    REQUIRE(finished);
    CHECK(count("SELECT count(*) FROM action_items WHERE text = 'roll back the deploy'") == 1);
    CHECK(count("SELECT count(*) FROM timeline_entries WHERE text = 'error rate is back'") == 1);
    // One summary, and one confirmation of the TODO: the replica that stored the message
    // said so, the other saw a duplicate.
    CHECK(a.posts_with(channel, "INC-1: Checkout down") +
              b.posts_with(channel, "INC-1: Checkout down") ==
          1);
    CHECK(a.posts_with(channel, "Action item 1 recorded") +
              b.posts_with(channel, "Action item 1 recorded") ==
          1);
    CHECK(count("SELECT count(*) FROM incidents") == 1);
}

TEST_CASE(
    "replicas: three on one Slack app, one killed mid-flood: its envelopes go to the others, "
    "every acked one stored once") {
    asio::io_context io;
    PgDatabase db;
    pq::Connection sql(db.conninfo());
    FloodedApp app(io);
    std::vector<std::unique_ptr<SlackAppReplica>> replicas;
    std::size_t unacked_at_kill = 0;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            // One at a time, so that connection n is replica n - 1's.
            for (int i = 0; i < 3; ++i) {
                replicas.push_back(std::make_unique<SlackAppReplica>(
                    app.slack, "flood-replica-" + std::to_string(i), db.conninfo()));
                REQUIRE(co_await wait_until(
                    [&] { return app.slack.open_connections() == std::size_t(i) + 1; },
                    milliseconds(20'000)));
            }
            REQUIRE(app.slack.connections == 3);
            const std::string channel = co_await app.declare(sql);

            // Killed from inside the ack handler, while its connection holds envelopes.
            Process& victim = *replicas[0]->bot;
            app.on_ack = [&] {
                if (unacked_at_kill == 0 && app.acked_flood() >= k_flood / 3 &&
                    app.slack.unacked_on(1) > 0) {
                    unacked_at_kill = app.slack.unacked_on(1);
                    victim.signal(SIGKILL);
                }
            };
            co_await app.flood(channel, k_flood);
            REQUIRE(unacked_at_kill > 0);
            const auto status = co_await victim.wait(milliseconds(10'000));
            REQUIRE(status == 128 + SIGKILL);
            // The survivors ack the rest, what the dead one had on its connection too.
            const bool drained = co_await wait_until(
                [&] {
                    return app.slack.unacked() == 0 && app.acked_flood() == std::size_t(k_flood);
                },
                milliseconds(60'000));
            REQUIRE_MESSAGE(drained, app.slack.unacked() << " unacked, " << app.acked_flood()
                                                         << " of the flood acked");
        },
        milliseconds(120'000));
    std::string logs;
    for (const auto& replica : replicas) logs += replica->bot->err();
    CAPTURE(logs);
    REQUIRE(finished);
    MESSAGE(unacked_at_kill << " unacked on the killed replica's connection; "
                            << app.slack.moved_to_another_connection
                            << " envelopes moved to another connection");
    CHECK(app.slack.moved_to_another_connection > 0);
    CHECK(app.slack.open_connections() == 2);
    for (std::size_t i = 1; i < replicas.size(); ++i) CHECK(replicas[i]->bot->running());
    app.check_stored_once(sql, k_flood);
    // One incident, one channel: the declare's effects went out from one replica.
    CHECK(sql.exec("SELECT count(*) FROM incidents").int64(0, 0) == 1);
    int created = 0;
    for (const auto& call : app.slack.calls_of("conversations.create"))
        created += call.args.value("name", std::string()).starts_with("inc-1-");
    CHECK(created == 1);
}

TEST_CASE(
    "replicas: PostgreSQL stopped for 10 s mid-flood: acking stops, /healthz degrades, the bot "
    "recovers by itself and nothing acked is lost") {
    constexpr int k_outage_flood = 3000;
    asio::io_context io;
    PgServer server;  // this test's own: it is stopped half-way
    const std::string database = server.conninfo(server.create_database());
    pq::Connection sql(database);
    FloodedApp app(io);
    std::unique_ptr<SlackAppReplica> replica;
    std::size_t acked_when_stopped = 0;
    std::size_t acked_when_degraded = 0;
    std::size_t acked_when_started = 0;
    int connections_when_stopped = 0;
    int connections_when_started = 0;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            replica = std::make_unique<SlackAppReplica>(app.slack, "outage-replica", database);
            REQUIRE(co_await wait_until([&] { return app.slack.open_connections() == 1; },
                                        milliseconds(20'000)));
            REQUIRE(co_await health_becomes(
                io, replica->listen, [](int status) { return status == 200; },
                milliseconds(20'000)));
            const std::string channel = co_await app.declare(sql);
            asio::co_spawn(io, app.flood(channel, k_outage_flood), asio::detached);

            REQUIRE(co_await wait_until([&] { return app.acked_flood() >= k_outage_flood / 3; },
                                        milliseconds(30'000)));
            const int finished_before = app.slack.finished_connections;
            server.stop();
            const auto stopped = std::chrono::steady_clock::now();
            acked_when_stopped = app.acked_flood();
            connections_when_stopped = app.slack.connections;
            REQUIRE(co_await health_becomes(
                io, replica->listen, [](int status) { return status == 503; },
                milliseconds(10'000)));
            // Acks of batches committed before the stop may still be on their way (the fake
            // did not read while the stop blocked it): count once the bot has dropped the
            // connection its failed batch was on and the fake has read all it carried.
            REQUIRE(co_await wait_until(
                [&] { return app.slack.finished_connections > finished_before; },
                milliseconds(10'000)));
            acked_when_degraded = app.acked_flood();
            // The outage lasts its 10 s: the bot keeps trying meanwhile.
            co_await sleep_for(std::chrono::duration_cast<milliseconds>(
                stopped + std::chrono::seconds(10) - std::chrono::steady_clock::now()));
            acked_when_started = app.acked_flood();
            connections_when_started = app.slack.connections;
            server.start();

            const bool drained = co_await wait_until(
                [&] {
                    return app.flooded && app.slack.unacked() == 0 &&
                           app.acked_flood() == std::size_t(k_outage_flood);
                },
                milliseconds(40'000));
            REQUIRE_MESSAGE(drained, app.slack.unacked() << " unacked, " << app.acked_flood()
                                                         << " of the flood acked");
            REQUIRE(co_await health_becomes(
                io, replica->listen, [](int status) { return status == 200; },
                milliseconds(20'000)));
        },
        milliseconds(120'000));
    const std::string log = replica ? replica->bot->err() : "";
    CAPTURE(log);
    REQUIRE(finished);
    MESSAGE(acked_when_stopped << " acked at the stop, " << acked_when_degraded
                               << " once /healthz said so, " << acked_when_started
                               << " at the start; connections: " << connections_when_stopped
                               << " then, " << connections_when_started << " at the start, "
                               << app.slack.connections << " at the end");
    // Nothing is acked while the database is down, so Slack keeps it and sends it again.
    CHECK(acked_when_started == acked_when_degraded);
    CHECK(acked_when_started < std::size_t(k_outage_flood));
    CHECK(replica->bot->running());
    // No reconnect storm while every batch fails: the bot waits for a commit to work before
    // it opens another connection (it opened one every 0.25 s or so, each failing again).
    CHECK(connections_when_started - connections_when_stopped <= 2);
    pq::Connection after(database);  // the first connection died with the server
    app.check_stored_once(after, k_outage_flood);
}
