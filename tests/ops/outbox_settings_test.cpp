#include <doctest/doctest.h>

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "adapters/net/http_client.hpp"
#include "bot/clock.hpp"
#include "bot/outbox.hpp"
#include "envelopes.hpp"
#include "fake_slack.hpp"
#include "process.hpp"
#include "run_async.hpp"
#include "storage/sqlite_store.hpp"
#include "test_certs.hpp"

// The outbox's settings reach the binary's workers: INCIDENT_BOT_OUTBOX_RETRY_SECONDS ends the
// retries of an effect Slack keeps refusing for now, and a bad value stops the bot at start.
using namespace incident;
using namespace incident::testing;
using net::testing::free_port;
using net::testing::run_async;
using net::testing::wait_until;
namespace asio = boost::asio;
using std::chrono::milliseconds;

TEST_CASE("outbox settings: a retry window of 1 s makes a transient failure failed, on /healthz") {
    asio::io_context io;
    TempDir dir("outbox-retry");
    FakeSlack fake{io.get_executor()};
    // Every conversations.create answers 500: transient, retried until the window is over.
    fake.server_errors["conversations.create"] = 1'000'000;
    const auto db = dir.path / "bot.db";
    const std::string listen = "127.0.0.1:" + std::to_string(free_port());
    ProcessOptions options;
    options.env = {"SLACK_BOT_TOKEN=" + fake.bot_token,
                   "SLACK_APP_TOKEN=" + fake.app_token,
                   "SLACK_API_URL=" + fake.api_url(),
                   "INCIDENT_BOT_DB=" + db.string(),
                   "INCIDENT_BOT_LISTEN=" + listen,
                   "INCIDENT_BOT_OUTBOX_RETRY_SECONDS=1",
                   "SPDLOG_LEVEL=info"};
    options.out = dir.path / "bot.out";
    options.err = dir.path / "bot.err";
    Process bot(k_binary, options);

    nlohmann::json outbox_check;
    const bool finished = run_async(
        io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await wait_until([&] { return fake.connected(); }, milliseconds(20'000)));
            fake.deliver(
                slash_envelope("declare", "CGENERAL", "U1", "alice", "declare sev2 Refused"));
            net::HttpClient client(io.get_executor(), net::testing::system_client_context());
            // One attempt (the Web API client's own retries of the 500s) outlasts the window.
            bool failed = false;
            for (int polls = 0; polls < 300 && !failed; ++polls) {
                net::HttpRequest request;
                request.url = "http://" + listen + "/healthz";
                const net::HttpResponse health = co_await client.request(std::move(request));
                const auto body = nlohmann::json::parse(health.body, nullptr, false);
                if (body.is_object() && body.contains("checks") &&
                    body["checks"].contains("outbox")) {
                    outbox_check = body["checks"]["outbox"];
                    failed = outbox_check.value("failed", 0) >= 1;
                }
                if (!failed) co_await net::testing::sleep_for(milliseconds(100));
            }
            REQUIRE_MESSAGE(failed, bot.err());
            bot.signal(SIGTERM);
            CHECK((co_await bot.wait(milliseconds(20'000))) == 0);
        },
        milliseconds(60'000));
    CAPTURE(bot.err());
    REQUIRE(finished);
    CHECK(outbox_check.value("degraded", false));
    CHECK(has(bot.err(), "failed for good after"));
    CHECK(has(bot.err(), "conversations.create: HTTP 500, not a JSON object"));

    SqliteStore store(db.string());
    ManualClock clock(0);
    Outbox outbox(store, clock);
    std::optional<OutboxEntry> found;
    for (const auto& entry : outbox.failed()) {
        if (entry.kind == "create_channel") found = entry;
    }
    REQUIRE(found);
    const OutboxEntry& create = *found;
    CHECK(create.kind == "create_channel");
    CHECK(create.error == "conversations.create: HTTP 500, not a JSON object");
    CHECK(create.attempts >= 1);
    // Given up on because the window was over, not before: at least its second went by.
    REQUIRE(create.done_at);
    CHECK(*create.done_at - create.created_at >= 1000);
}

TEST_CASE("outbox settings: a retention shorter than a day stops the bot, naming the key") {
    TempDir dir("outbox-retention");
    const Run bad =
        run_binary({"console"},
                   {"INCIDENT_BOT_DB=" + (dir.path / "bot.db").string(),
                    "INCIDENT_BOT_LISTEN=127.0.0.1:0", "INCIDENT_BOT_RETENTION_SECONDS=600"},
                   dir.path);
    CHECK(bad.status == 2);
    CAPTURE(bad.err);
    CHECK(has(bad.err,
              "INCIDENT_BOT_RETENTION_SECONDS must be a number of seconds from 86400 (a "
              "day) to 31622400, not `600`"));
    CHECK_FALSE(std::filesystem::exists(dir.path / "bot.db"));
}
