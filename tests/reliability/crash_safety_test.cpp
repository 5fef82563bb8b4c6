#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>

#include "bot_process.hpp"
#include "envelopes.hpp"
#include "fake_slack.hpp"
#include "run_async.hpp"

using namespace incident::testing;
using incident::net::testing::run_async;
using incident::net::testing::sleep_for;
using incident::net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

const std::string k_binary = INCIDENT_BOT_BINARY;
constexpr int k_flood = 3000;
constexpr std::size_t k_window = 500;  // envelopes in flight at most, as Slack would

std::string ts_of(int i) {
    return std::to_string(1'800'001'000 + i) + ".000100";
}

// The real bot on a fake Slack and one database, restarted as often as a test likes.
struct CrashHarness {
    asio::io_context io;
    FakeSlack fake{io.get_executor()};
    TempDir dir{"incident-crash"};
    std::unique_ptr<BotProcess> bot;
    std::set<std::string> acked;  // envelope ids, by any bot process so far
    std::function<void()> on_ack;

    CrashHarness() {
        fake.keep_acks = false;
        fake.on_ack = [this](const std::string& id) {
            acked.insert(id);
            if (on_ack) on_ack();
        };
    }

    std::filesystem::path db() const { return dir.path / "bot.db"; }

    void start() {
        bot = std::make_unique<BotProcess>(
            k_binary,
            std::vector<std::string>{
                "SLACK_BOT_TOKEN=" + fake.bot_token, "SLACK_APP_TOKEN=" + fake.app_token,
                "SLACK_API_URL=" + fake.api_url(), "INCIDENT_BOT_DB=" + db().string(),
                "INCIDENT_BOT_LISTEN=127.0.0.1:0", "PATH=/usr/bin:/bin", "SPDLOG_LEVEL=info"},
            dir.path / "bot.log");
    }

    asio::awaitable<bool> connected(int connections) {
        co_return co_await wait_until(
            [&] { return fake.connections >= connections && fake.connected(); },
            milliseconds(15'000));
    }

    // Declares INC-1 and returns its channel.
    asio::awaitable<std::string> declare() {
        fake.deliver(
            slash_envelope("crash-declare", "CGENERAL", "U1", "alice", "declare sev1 Flood"));
        const bool created = co_await wait_until(
            [&] { return fake.count("chat.postMessage") >= 2; }, milliseconds(15'000));
        REQUIRE(created);
        for (const auto& [id, name] : fake.channel_names) {
            if (name.starts_with("inc-1-")) co_return id;
        }
        FAIL("no incident channel was created");
        co_return std::string();
    }

    // Delivers the flood with a bounded window; the fake keeps what the bot does not ack.
    asio::awaitable<void> flood(const std::string& channel) {
        for (int i = 0; i < k_flood; ++i) {
            while (fake.unacked() >= k_window && fake.connected())
                co_await sleep_for(milliseconds(1));
            fake.deliver(events_envelope(
                "F" + std::to_string(i),
                message_event(channel, "U2", ts_of(i), "flood " + std::to_string(i))));
        }
    }

    // The flood's messages in the database, by message id, with how often each is there.
    std::map<std::string, int> stored() {
        const json incident = export_incident(k_binary, db(), "INC-1");
        REQUIRE_MESSAGE(incident.is_object(), "export failed; bot log:\n" << bot->log());
        std::map<std::string, int> count;
        for (const auto& entry : incident["timeline"]) {
            if (entry.value("kind", "") == "message") ++count[entry.value("message_id", "")];
        }
        return count;
    }

    // Every envelope acked so far is stored, exactly once; nothing is stored twice.
    void check_acked_stored_once() {
        const auto count = stored();
        int acked_messages = 0;
        for (const auto& id : acked) {
            if (!id.starts_with("env-F")) continue;
            ++acked_messages;
            const auto it = count.find(ts_of(std::stoi(id.substr(5))));
            CHECK_MESSAGE(
                (it != count.end() && it->second == 1),
                id << " acked but stored " << (it == count.end() ? 0 : it->second) << " times");
        }
        for (const auto& [message, times] : count)
            CHECK_MESSAGE(times == 1, message << " stored " << times << " times");
        CHECK(acked_messages > 0);
        MESSAGE(acked_messages << " acked, " << count.size() << " stored");
    }

    // After a restart everything the fake still held is redelivered: all of the flood is
    // acked and stored exactly once, and the bot then stops cleanly.
    asio::awaitable<void> restart_and_finish(int connections) {
        start();
        REQUIRE(co_await connected(connections));
        const bool drained = co_await wait_until(
            [&] { return fake.unacked() == 0 && acked.size() >= std::size_t(k_flood) + 1; },
            milliseconds(30'000));
        REQUIRE_MESSAGE(drained, fake.unacked() << " still unacked; bot log:\n" << bot->log());
        bot->signal(SIGTERM);
        const auto status = co_await bot->wait(milliseconds(10'000));
        REQUIRE_MESSAGE(status == 0, "bot log:\n" << bot->log());
        const auto count = stored();
        CHECK(count.size() == std::size_t(k_flood));
        for (int i = 0; i < k_flood; ++i) {
            const auto it = count.find(ts_of(i));
            CHECK_MESSAGE((it != count.end() && it->second == 1),
                          ts_of(i)
                              << " stored " << (it == count.end() ? 0 : it->second) << " times");
        }
    }
};

}  // namespace

TEST_CASE(
    "crash safety: SIGKILL mid-flood, restart, redelivery: every acked event stored exactly once") {
    CrashHarness h;
    std::size_t acked_at_kill = 0;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            h.start();
            REQUIRE(co_await h.connected(1));
            const std::string channel = co_await h.declare();

            // The kill comes from inside the ack handler: the bot is in the middle of the flood.
            h.on_ack = [&] {
                if (h.acked.size() == k_flood / 3 && h.bot->running()) {
                    h.bot->signal(SIGKILL);
                    acked_at_kill = h.acked.size();
                }
            };
            co_await h.flood(channel);
            const auto status = co_await h.bot->wait(milliseconds(10'000));
            REQUIRE(status == 128 + SIGKILL);
            h.on_ack = nullptr;
            REQUIRE(acked_at_kill > 0);
            CHECK(h.acked.size() < std::size_t(k_flood));  // killed mid-flood
            CHECK(h.fake.unacked() > 0);
            h.check_acked_stored_once();

            co_await h.restart_and_finish(2);
        },
        milliseconds(120'000));
    CHECK(finished);
}

TEST_CASE("crash safety: SIGTERM mid-flood exits 0 promptly and loses nothing that was acked") {
    CrashHarness h;
    bool terminated = false;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            h.start();
            REQUIRE(co_await h.connected(1));
            const std::string channel = co_await h.declare();

            std::chrono::steady_clock::time_point signalled;
            h.on_ack = [&] {
                if (h.acked.size() == k_flood / 2 && h.bot->running()) {
                    h.bot->signal(SIGTERM);
                    signalled = std::chrono::steady_clock::now();
                    terminated = true;
                }
            };
            co_await h.flood(channel);
            REQUIRE(terminated);
            const auto status = co_await h.bot->wait(milliseconds(5000));
            REQUIRE_MESSAGE(status == 0, "bot log:\n" << h.bot->log());
            MESSAGE("exited " << std::chrono::duration_cast<milliseconds>(
                                     std::chrono::steady_clock::now() - signalled)
                                     .count()
                              << " ms after SIGTERM");
            h.on_ack = nullptr;
            CHECK(h.acked.size() < std::size_t(k_flood));
            CHECK(h.fake.unacked() > 0);
            h.check_acked_stored_once();

            co_await h.restart_and_finish(2);
        },
        milliseconds(120'000));
    CHECK(finished);
}

TEST_CASE(
    "crash safety: SIGKILL while Slack holds the channel creation, then a post: one channel, "
    "every post, only what was in flight repeated") {
    CrashHarness h;
    h.fake.holds["conversations.create"] = 1;
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            h.start();
            REQUIRE(co_await h.connected(1));
            h.fake.deliver(
                slash_envelope("crash-declare", "CGENERAL", "U1", "alice", "declare sev1 Flood"));
            // Acked (stored), and the channel creation is on its way to Slack, unanswered.
            REQUIRE(co_await wait_until(
                [&] { return h.fake.held_calls == 1 && h.acked.count("env-crash-declare"); },
                milliseconds(15'000)));
            h.bot->signal(SIGKILL);
            REQUIRE(co_await h.bot->wait(milliseconds(10'000)) == 128 + SIGKILL);
            // Slack carries the call out after all; its answer reaches no one.
            h.fake.release_held();
            REQUIRE(
                co_await wait_until([&] { return h.fake.held_calls == 0; }, milliseconds(5000)));
            std::string channel;
            for (const auto& [id, name] : h.fake.channel_names) {
                if (name == "inc-1-flood") channel = id;
            }
            REQUIRE_FALSE(channel.empty());

            // The restart adopts that channel; its summary post is held in turn.
            h.fake.holds["chat.postMessage"] = 1;
            h.start();
            REQUIRE(co_await h.connected(2));
            REQUIRE_MESSAGE(co_await wait_until([&] { return h.fake.held_calls == 1; },
                                                milliseconds(15'000)),
                            "bot log:\n"
                                << h.bot->log());
            h.bot->signal(SIGKILL);
            REQUIRE(co_await h.bot->wait(milliseconds(10'000)) == 128 + SIGKILL);
            h.fake.release_held();
            REQUIRE(
                co_await wait_until([&] { return h.fake.held_calls == 0; }, milliseconds(5000)));

            // The last restart delivers everything still pending.
            h.start();
            REQUIRE(co_await h.connected(3));
            std::string announcements;
            const bool delivered = co_await wait_until(
                [&] {
                    for (const auto& [id, name] : h.fake.channel_names) {
                        if (name == "incidents") announcements = id;
                    }
                    return !announcements.empty() && !h.fake.posted_in(announcements).empty();
                },
                milliseconds(15'000));
            REQUIRE_MESSAGE(delivered, "bot log:\n" << h.bot->log());
            h.bot->signal(SIGTERM);
            REQUIRE(co_await h.bot->wait(milliseconds(10'000)) == 0);

            int incident_channels = 0;
            for (const auto& [id, name] : h.fake.channel_names) {
                incident_channels += name.starts_with("inc-1-");
            }
            CHECK(incident_channels == 1);
            for (const auto& call : h.fake.calls_of("conversations.create")) {
                CHECK(call.args.value("name", "") != "inc-1-flood-2");
            }
            // The summary was in flight at the second kill, and Slack made it: the restart
            // finds it by its metadata in the channel's history and does not post it again.
            CHECK(h.fake.posted_in(channel).size() == 1);
            CHECK(h.fake.messages_in(channel).size() == 1);
            CHECK(h.fake.count("conversations.history") >= 1);
            // The announcement was never in flight: exactly once.
            CHECK(h.fake.posted_in(announcements).size() == 1);
            CHECK(h.fake.count("conversations.invite") >= 1);
            const json incident = export_incident(k_binary, h.db(), "INC-1");
            REQUIRE(incident.is_object());
            CHECK(incident["channel"]["id"] == channel);
        },
        milliseconds(120'000));
    CHECK(finished);
}
