#include <doctest/doctest.h>

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <set>

#include "adapters/net/http_client.hpp"
#include "bot/clock.hpp"
#include "bot/incident_service.hpp"
#include "envelopes.hpp"
#include "fake_slack.hpp"
#include "process.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"
#include "test_certs.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::free_port;
using net::testing::run_async;
using net::testing::sleep_for;
using net::testing::wait_until;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

namespace {

constexpr int k_flood = 30'000;
constexpr int k_update_every = 500;  // every 500th envelope is `/incident update`
constexpr std::size_t k_window = 2'000;

// One bot process against one fake Slack, both driven from this test's io_context.
struct Harness {
    asio::io_context io;
    TempDir dir{"shutdown"};
    FakeSlack fake{io.get_executor()};
    fs::path db = dir.path / "bot.db";
    std::set<std::string> acked;
    std::unique_ptr<Process> bot;

    Harness() {
        fake.keep_acks = false;
        fake.on_ack = [this](const std::string& id) { acked.insert(id); };
    }

    void start(const std::string& listen = "127.0.0.1:0") {
        ProcessOptions options;
        options.env = {"SLACK_BOT_TOKEN=" + fake.bot_token, "SLACK_APP_TOKEN=" + fake.app_token,
                       "SLACK_API_URL=" + fake.api_url(),   "INCIDENT_BOT_DB=" + db.string(),
                       "INCIDENT_BOT_LISTEN=" + listen,     "SPDLOG_LEVEL=info"};
        options.out = dir.path / "bot.out";
        options.err = dir.path / "bot.err";
        bot = std::make_unique<Process>(k_binary, options);
    }

    // Declares INC-1 over Socket Mode; its channel id once the bot has created it.
    asio::awaitable<std::string> declare() {
        REQUIRE(co_await wait_until([&] { return fake.connected(); }, milliseconds(20'000)));
        fake.deliver(slash_envelope("declare", "CGENERAL", "U1", "alice", "declare sev2 Flood"));
        std::string channel;
        const bool created = co_await wait_until(
            [&] {
                for (const auto& [id, name] : fake.channel_names) {
                    if (name.starts_with("inc-1-")) channel = id;
                }
                return !channel.empty() && fake.count("chat.postMessage") >= 2;
            },
            milliseconds(20'000));
        REQUIRE_MESSAGE(created, bot->err());
        co_return channel;
    }

    std::vector<TimelineEntry> stored() {
        SqliteStore store(db.string());
        ManualClock clock(0);
        IncidentService service(store, clock);
        return service.timeline(1);
    }
};

}  // namespace

TEST_CASE("shutdown: SIGTERM mid-flood keeps every acked event, drains effects, exits 0 in time") {
    Harness h;
    double seconds_to_exit = -1;
    std::optional<int> status;
    std::size_t acked_at_signal = 0;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            h.start();
            const std::string channel = co_await h.declare();
            Steady::time_point signalled;
            bool sent_signal = false;
            for (int i = 0; i < k_flood; ++i) {
                while (h.fake.unacked() >= k_window && h.fake.connected()) {
                    co_await sleep_for(milliseconds(1));
                }
                if (!h.fake.connected()) break;  // the bot closed its end: it takes nothing more
                const std::string n = std::to_string(i);
                if (i % k_update_every == 0) {
                    h.fake.deliver(
                        slash_envelope("upd-" + n, channel, "U1", "alice", "update step " + n));
                } else {
                    const std::string ts = std::to_string(1'800'000'000 + i) + ".000100";
                    h.fake.deliver(events_envelope(
                        "M" + n, message_event(channel, "U2", ts, "flood message " + n)));
                }
                if (i == k_flood / 8) {
                    // A backup in the middle of the flood: the bot keeps writing meanwhile.
                    ProcessOptions backup;
                    backup.args = {"backup", (h.dir.path / "during.db").string(), "--db",
                                   h.db.string()};
                    backup.out = h.dir.path / "backup.out";
                    backup.err = h.dir.path / "backup.err";
                    Process process(k_binary, backup);
                    const auto backed_up = co_await process.wait(milliseconds(30'000));
                    CHECK_MESSAGE(backed_up == 0, process.err());
                    CHECK(has(process.out(), "1 incident(s)"));
                }
                if (!sent_signal && h.acked.size() >= k_flood / 4) {
                    h.bot->signal(SIGTERM);
                    signalled = Steady::now();
                    sent_signal = true;
                    acked_at_signal = h.acked.size();
                }
                if (i % 64 == 0) co_await sleep_for(milliseconds(0));
            }
            REQUIRE(sent_signal);
            status = co_await h.bot->wait(milliseconds(15'000));
            seconds_to_exit = std::chrono::duration<double>(Steady::now() - signalled).count();
        },
        milliseconds(120'000));
    REQUIRE(finished);
    const std::string log = h.bot->err();
    CAPTURE(log);
    REQUIRE(status == 0);
    MESSAGE("exited " << seconds_to_exit << " s after SIGTERM; " << acked_at_signal
                      << " acked at the signal, " << h.acked.size() << " in all, "
                      << h.fake.unacked() << " left to Slack's redelivery");
    CHECK(seconds_to_exit <= 10.5);
    CHECK(has(log, "SIGTERM: shutting down"));
    CHECK(has(log, "slack socket mode: closing the connection (shutting down)"));
    CHECK(has(log, "shutdown: drained in"));

    std::set<std::string> messages, updates;
    for (const auto& e : h.stored()) {
        if (e.kind == EntryKind::message) messages.insert(e.text);
        if (e.kind == EntryKind::update) updates.insert(e.text);
    }
    std::set<std::string> announced;
    for (const auto& call : h.fake.calls_of("chat.postMessage")) {
        announced.insert(call.args.value("text", std::string()));
    }
    int acked_messages = 0, acked_updates = 0;
    for (const auto& id : h.acked) {
        if (id.starts_with("env-M")) {
            ++acked_messages;
            const std::string text = "flood message " + id.substr(5);
            CHECK_MESSAGE(messages.count(text) == 1, id << " was acked but is not stored");
        } else if (id.starts_with("env-upd-")) {
            ++acked_updates;
            const std::string step = "step " + id.substr(8);
            CHECK_MESSAGE(updates.count(step) == 1, id << " was acked but is not stored");
            // Its announcement (an effect queued after the commit) went out before the exit.
            const bool posted = std::any_of(announced.begin(), announced.end(), [&](const auto& t) {
                return t.ends_with("update from @alice: " + step);
            });
            CHECK_MESSAGE(posted, id << ": its announcement was not posted before the exit");
        }
    }
    CHECK(acked_messages > 1000);
    CHECK(acked_updates > 2);
}

TEST_CASE("shutdown: while queued effects drain, HTTP gets 503 and the message still goes out") {
    Harness h;
    const std::string listen = "127.0.0.1:" + std::to_string(free_port());
    std::optional<int> status;
    net::HttpResponse during;
    double seconds_to_exit = -1;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            h.start(listen);
            const std::string channel = co_await h.declare();
            // The declare's effects are done: nothing pending in the outbox.
            net::HttpClient client(h.io.get_executor(), net::testing::system_client_context());
            const auto healthz = [&]() -> asio::awaitable<net::HttpResponse> {
                net::HttpRequest request;
                request.url = "http://" + listen + "/healthz";
                co_return co_await client.request(std::move(request));
            };
            bool settled = false;
            for (const auto deadline = Steady::now() + milliseconds(20'000);
                 !settled && Steady::now() < deadline;) {
                const net::HttpResponse r = co_await healthz();
                const auto j = nlohmann::json::parse(r.body, nullptr, false);
                settled =
                    j.is_object() && j.contains("checks") &&
                    j["checks"].value("outbox", nlohmann::json::object()).value("pending", -1) == 0;
                if (!settled) co_await sleep_for(milliseconds(20));
            }
            REQUIRE(settled);
            // The announcement of the next update is held back by two 429s (1 s each).
            h.fake.retry_after_seconds = 1;
            h.fake.rate_limit["chat.postMessage"] = 2;
            h.fake.deliver(
                slash_envelope("held", channel, "U1", "alice", "update status page is up"));
            REQUIRE(co_await wait_until([&] { return h.acked.count("env-held") == 1; },
                                        milliseconds(10'000)));
            REQUIRE(co_await wait_until([&] { return h.fake.rate_limit["chat.postMessage"] < 2; },
                                        milliseconds(10'000)));
            h.bot->signal(SIGTERM);
            const auto signalled = Steady::now();
            // Draining is seen from outside as a 503; asked until it shows, while the held
            // message is still queued.
            for (const auto deadline = Steady::now() + milliseconds(5000);
                 !has(during.body, "shutting down") && Steady::now() < deadline;) {
                during = co_await healthz();
                if (!has(during.body, "shutting down")) co_await sleep_for(milliseconds(10));
            }
            status = co_await h.bot->wait(milliseconds(15'000));
            seconds_to_exit = std::chrono::duration<double>(Steady::now() - signalled).count();
        },
        milliseconds(60'000));
    REQUIRE(finished);
    CAPTURE(h.bot->err());
    CHECK(during.status == 503);
    CHECK(has(during.body, "shutting down"));
    REQUIRE(status == 0);
    CHECK(seconds_to_exit <= 10.5);
    bool posted = false;
    for (const auto& call : h.fake.calls_of("chat.postMessage")) {
        posted = posted || has(call.args.value("text", std::string()), "status page is up");
    }
    CHECK(posted);
}
