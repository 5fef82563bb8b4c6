#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "adapters/notify/statuspage_sink.hpp"
#include "bot/incident_service.hpp"
#include "commands/router.hpp"
#include "fake_statuspage.hpp"
#include "outbox_fixture.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"
#include "temp_db.hpp"
#include "test_certs.hpp"

// Publications going to an Atlassian Statuspage through the outbox, against a fake of its
// documented REST API (tests/protocol/statuspage) that refuses what Statuspage would refuse.
using namespace incident;
using incident::net::testing::run_async;
using incident::net::testing::system_client_context;
using incident::net::testing::wait_until;
using incident::testing::FakeStatuspage;
using incident::testing::k_statuspage_api_component;
using incident::testing::k_statuspage_key;
using incident::testing::k_statuspage_page;
using incident::testing::statuspage_fixture;
using incident::testing::TempDb;
using nlohmann::json;
namespace asio = boost::asio;
using asio::awaitable;
using std::chrono::milliseconds;

namespace {

// Words that are only inside the bot: none of them may reach Statuspage.
constexpr const char* k_title_marker = "ZEBRA-TITLE";
constexpr const char* k_chatter_marker = "OKAPI-CHATTER";
constexpr const char* k_update_marker = "LLAMA-UPDATE";

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Request ids are remembered in the database: a restarted bot must not reuse one.
int g_requests = 0;

// The bot as bot/app/runtime.cpp wires it for Statuspage, on the database at `db`, delivering.
struct Bot {
    Bot(asio::io_context& io, const FakeStatuspage& fake, const std::string& db,
        const std::string& key = k_statuspage_key)
        : store(db),
          service(store, clock, ServiceOptions{"", {"API", "Dashboard"}}),
          sink(io.get_executor(), system_client_context(), outbox, store, options(fake, key)) {
        service.use_outbox(outbox);
        commands::register_builtin_commands(router);
        sink.start();
    }
    static notify::StatuspageOptions options(const FakeStatuspage& fake, const std::string& key) {
        notify::StatuspageOptions o;
        o.api_url = fake.url();
        o.page_id = k_statuspage_page;
        o.api_key = key;
        o.components = {{"API", k_statuspage_api_component}};  // Dashboard has no Statuspage id
        o.outbox = notify::testing::fast_retries();
        return o;
    }
    Outcome command(const std::string& text, const std::string& channel = "C-inc-1") {
        const Outcome out = router.dispatch(
            CommandRequest{"req-" + std::to_string(++g_requests), "console", channel, channel,
                           Actor{"U1", "alice"}, text, clock.now()});
        REQUIRE_MESSAGE(out.reply.ok, out.reply.text);
        return out;
    }
    // An incident with an internal title, chatter and an internal update: none of it public.
    void declare() {
        command("declare sev2 " + std::string(k_title_marker) + " checkout db failover", "general");
        service.bind_channel(1, "console", "C-inc-1", "inc-1");
        service.handle_event(MessagePosted{{"ev-1", "console", "C-inc-1", clock.now()},
                                           "m-1",
                                           "",
                                           Actor{"U2", "bob"},
                                           std::string(k_chatter_marker) + " primary is gone",
                                           false});
        command("update " + std::string(k_update_marker) + " failing over to the replica");
    }
    // Until the sink has nothing pending.
    bool delivered(asio::io_context& io) {
        bool done = false;
        const bool ran = run_async(io, [&]() -> awaitable<void> {
            done =
                co_await wait_until([&] { return sink.stats().pending == 0; }, milliseconds(5000));
        });
        return ran && done;
    }

    SqliteStore store;
    SystemClock clock;
    Outbox outbox{store, clock};
    IncidentService service;
    commands::CommandRouter router{service};
    notify::StatuspageSink sink;
};

void check_public_only(const FakeStatuspage& fake) {
    for (const json& body : fake.bodies) {
        const std::string text = body.dump();
        CHECK_FALSE(has(text, k_title_marker));
        CHECK_FALSE(has(text, k_chatter_marker));
        CHECK_FALSE(has(text, k_update_marker));
        CHECK_FALSE(has(text, "INC-1"));
        CHECK_FALSE(has(text, "alice"));
    }
}

}  // namespace

TEST_CASE("statuspage: the first publication creates the incident and later ones update it") {
    asio::io_context io;
    FakeStatuspage fake(io);
    TempDb db;
    Bot bot(io, fake, db.path());
    bot.declare();
    // Declared, updated: internal events, nothing sent.
    REQUIRE(bot.delivered(io));
    CHECK(fake.calls.empty());

    // A component before anything was published: the component alone.
    bot.command("component API degraded");
    REQUIRE(bot.delivered(io));
    REQUIRE(fake.calls == std::vector<std::string>{"PATCH /v1/pages/qfn30z5r6s5h/components/" +
                                                   std::string(k_statuspage_api_component)});
    CHECK(fake.bodies.back() == statuspage_fixture("update_component.request.json"));

    bot.command("statuspage Some checkouts are failing. We are looking into it.");
    REQUIRE(bot.delivered(io));
    CHECK(fake.refusals.empty());
    REQUIRE(fake.count("POST /v1/pages/qfn30z5r6s5h/incidents") == 1);
    // The documented body: named by the message, with the component it affects.
    json expected = statuspage_fixture("create_incident.request.json");
    expected["incident"]["name"] = "Some checkouts are failing. We are looking into it.";
    // Its create id is new for each create: 32 hex digits.
    const json create_id = fake.bodies.back()["incident"]["metadata"]["incident_bot"]["create_id"];
    REQUIRE(create_id.is_string());
    CHECK(create_id.get<std::string>().find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(create_id.get<std::string>().size() == 32);
    expected["incident"]["metadata"]["incident_bot"]["create_id"] = create_id;
    CHECK(fake.bodies.back() == expected);
    const auto live = bot.store.live_message(1, "statuspage", "incident");
    REQUIRE(live);
    CHECK(live->message_id == fake.created.at(0));
    CHECK(live->channel_id == k_statuspage_page);

    // A new state with words, a state alone, a component that has no Statuspage id, and one
    // that has: each updates the same incident.
    bot.command("statuspage state identified We found the cause and are rolling out a fix.");
    bot.command("component Dashboard major-outage");
    bot.command("component api partial-outage");
    bot.command("statuspage state monitoring");
    REQUIRE(bot.delivered(io));
    CHECK(fake.refusals.empty());
    const std::string incident = "PATCH /v1/pages/qfn30z5r6s5h/incidents/" + fake.created.at(0);
    CHECK(fake.count(incident) == 3);
    CHECK(fake.count("POST /v1/pages/qfn30z5r6s5h/incidents") == 1);
    CHECK(fake.created.size() == 1);
    REQUIRE(fake.bodies.size() == 5);
    CHECK(fake.bodies[2] == json{{"incident",
                                  {{"status", "identified"},
                                   {"body", "We found the cause and are rolling out a fix."}}}});
    CHECK(fake.bodies[3] ==
          json{{"incident",
                {{"component_ids", {k_statuspage_api_component}},
                 {"components", {{k_statuspage_api_component, "partial_outage"}}}}}});
    CHECK(fake.bodies[4] == json{{"incident", {{"status", "monitoring"}}}});
    check_public_only(fake);
    CHECK(bot.outbox.failed().empty());
}

TEST_CASE("statuspage: after a restart the same Statuspage incident is updated, not created") {
    asio::io_context io;
    FakeStatuspage fake(io);
    TempDb db;
    {
        Bot before(io, fake, db.path());
        before.declare();
        before.command("statuspage Some checkouts are failing.");
        REQUIRE(before.delivered(io));
    }
    REQUIRE(fake.created.size() == 1);

    // A new process on the same database: the id it stored is the one updated.
    Bot after(io, fake, db.path());
    after.command("statuspage state resolved Checkouts work again.");
    REQUIRE(after.delivered(io));
    CHECK(fake.refusals.empty());
    CHECK(fake.count("POST /v1/pages/qfn30z5r6s5h/incidents") == 1);
    CHECK(fake.count("PATCH /v1/pages/qfn30z5r6s5h/incidents/" + fake.created.at(0)) == 1);
    CHECK(fake.bodies.back() ==
          json{{"incident", {{"status", "resolved"}, {"body", "Checkouts work again."}}}});
    check_public_only(fake);
}

TEST_CASE("statuspage: 5xx, 429 and 420 are retried from the outbox and create one incident") {
    asio::io_context io;
    FakeStatuspage fake(io);
    TempDb db;
    Bot bot(io, fake, db.path());
    bot.declare();
    fake.script = {500, 429, 420, 503};
    bot.command("statuspage Some checkouts are failing.");
    REQUIRE(bot.delivered(io));
    // After the first POST, each retry first looks for the incident it may have created.
    CHECK(fake.count("POST /v1/pages/qfn30z5r6s5h/incidents") == 2);
    CHECK(fake.count("GET /v1/pages/qfn30z5r6s5h/incidents/unresolved") == 4);
    CHECK(fake.created.size() == 1);
    CHECK(bot.sink.stats().retries == 4);
    CHECK(bot.sink.stats().failed == 0);
    CHECK(bot.outbox.failed().empty());
    REQUIRE(bot.store.live_message(1, "statuspage", "incident"));
}

TEST_CASE("statuspage: an incident deleted on Statuspage is created again as it is now") {
    asio::io_context io;
    FakeStatuspage fake(io);
    TempDb db;
    Bot bot(io, fake, db.path());
    bot.declare();
    bot.command("component API degraded");
    bot.command("statuspage Some checkouts are failing.\nWe are looking into it.");
    bot.command("statuspage state identified We found the cause and are rolling out a fix.");
    REQUIRE(bot.delivered(io));
    REQUIRE(fake.created.size() == 1);
    const std::string first = fake.created[0];

    // Someone deletes it on Statuspage; the next publication (a state alone) finds it gone.
    fake.delete_incident(first);
    bot.command("statuspage state monitoring");
    REQUIRE(bot.delivered(io));
    CHECK(fake.refusals == std::vector<std::string>{"no incident " + first});
    REQUIRE(fake.created.size() == 2);
    CHECK(bot.outbox.failed().empty());
    const json recreated = fake.bodies.back()["incident"];
    CHECK(recreated["name"] == "Some checkouts are failing.");
    CHECK(recreated["status"] == "monitoring");
    CHECK(recreated["body"] == "We found the cause and are rolling out a fix.");
    CHECK(recreated["components"] == json{{k_statuspage_api_component, "degraded_performance"}});
    const auto live = bot.store.live_message(1, "statuspage", "incident");
    REQUIRE(live);
    CHECK(live->message_id == fake.created[1]);

    // Later changes go to the new one; deleted again, a component change re-creates it too.
    bot.command("component api partial-outage");
    REQUIRE(bot.delivered(io));
    CHECK(fake.count("PATCH /v1/pages/qfn30z5r6s5h/incidents/" + fake.created[1]) == 1);
    fake.delete_incident(fake.created[1]);
    bot.command("component api major-outage");
    REQUIRE(bot.delivered(io));
    REQUIRE(fake.created.size() == 3);
    CHECK(fake.bodies.back()["incident"]["status"] == "monitoring");
    CHECK(fake.bodies.back()["incident"]["components"] ==
          json{{k_statuspage_api_component, "major_outage"}});
    CHECK(bot.store.live_message(1, "statuspage", "incident")->message_id == fake.created[2]);
    CHECK(bot.outbox.failed().empty());
    check_public_only(fake);
}

TEST_CASE("statuspage: a create whose answer was lost is found and adopted, not made twice") {
    asio::io_context io;
    FakeStatuspage fake(io);
    TempDb db;
    Bot bot(io, fake, db.path());
    bot.declare();
    fake.lose_answers = 1;
    bot.command("statuspage Some checkouts are failing.");
    REQUIRE(bot.delivered(io));
    CHECK(fake.count("POST /v1/pages/qfn30z5r6s5h/incidents") == 1);
    CHECK(fake.count("GET /v1/pages/qfn30z5r6s5h/incidents/unresolved") == 1);
    REQUIRE(fake.created.size() == 1);
    CHECK(fake.unresolved().size() == 1);
    CHECK(bot.outbox.failed().empty());
    const auto live = bot.store.live_message(1, "statuspage", "incident");
    REQUIRE(live);
    CHECK(live->message_id == fake.created[0]);

    // The adopted incident is the one updated from then on.
    bot.command("statuspage state resolved Checkouts work again.");
    REQUIRE(bot.delivered(io));
    CHECK(fake.count("PATCH /v1/pages/qfn30z5r6s5h/incidents/" + fake.created[0]) == 1);
    CHECK(fake.created.size() == 1);
    CHECK(fake.refusals.empty());
}

TEST_CASE(
    "statuspage: only the incident of the lost create is adopted, and none when none was made") {
    asio::io_context io;
    FakeStatuspage fake(io);
    TempDb db;
    Bot bot(io, fake, db.path());
    bot.declare();
    bot.command("statuspage Some checkouts are failing.");
    REQUIRE(bot.delivered(io));
    // INC-2 says the same words and loses its answer: the list then has two open incidents
    // of that name, and only the one with INC-2's create id is INC-2's.
    bot.command("declare sev3 Second", "general");
    bot.service.bind_channel(2, "console", "C-inc-2", "inc-2");
    fake.lose_answers = 1;
    bot.command("statuspage Some checkouts are failing.", "C-inc-2");
    REQUIRE(bot.delivered(io));
    REQUIRE(fake.created.size() == 2);
    CHECK(fake.count("GET /v1/pages/qfn30z5r6s5h/incidents/unresolved") == 1);
    CHECK(bot.store.live_message(1, "statuspage", "incident")->message_id == fake.created[0]);
    CHECK(bot.store.live_message(2, "statuspage", "incident")->message_id == fake.created[1]);

    // The lost answer of a create that Statuspage never made: nothing to adopt, created once.
    bot.command("declare sev3 Third", "general");
    bot.service.bind_channel(3, "console", "C-inc-3", "inc-3");
    fake.script = {503};
    bot.command("statuspage Some checkouts are failing.", "C-inc-3");
    REQUIRE(bot.delivered(io));
    REQUIRE(fake.created.size() == 3);
    CHECK(bot.store.live_message(3, "statuspage", "incident")->message_id == fake.created[2]);
    CHECK(bot.outbox.failed().empty());
}

TEST_CASE("statuspage: a refused key is kept as failed, and the key is in no error") {
    asio::io_context io;
    FakeStatuspage fake(io);
    TempDb db;
    const std::string wrong = "sp-revoked-key-d41d8cd98f00";
    Bot bot(io, fake, db.path(), wrong);
    bot.declare();
    bot.command("statuspage Some checkouts are failing.");
    REQUIRE(bot.delivered(io));
    // Tried once: a 401 does not change by itself.
    CHECK(fake.count("POST /v1/pages/qfn30z5r6s5h/incidents") == 1);
    REQUIRE(fake.refusals.size() == 1);
    CHECK(has(fake.refusals[0], wrong));  // the fake did echo the key
    const auto failed = bot.outbox.failed();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].sink == "statuspage");
    CHECK(has(failed[0].error, "HTTP 401"));
    CHECK(has(failed[0].error, "statuspage POST pages/qfn30z5r6s5h/incidents"));
    CHECK_FALSE(has(failed[0].error, wrong));
    CHECK(bot.sink.stats().failed == 1);
    CHECK_FALSE(bot.store.live_message(1, "statuspage", "incident"));
}

TEST_CASE("statuspage: the incident name is the first line of the first message, cut to fit") {
    CHECK(notify::statuspage_incident_name("  Checkout is slow\nWe are on it.") ==
          "Checkout is slow");
    const std::string name = notify::statuspage_incident_name(std::string(300, 'x'));
    CHECK(name.size() <= 120);
    CHECK(name.ends_with("…"));
    CHECK(notify::statuspage_status(ComponentStatus::degraded) == "degraded_performance");
    CHECK(notify::statuspage_status(ComponentStatus::major_outage) == "major_outage");
}
