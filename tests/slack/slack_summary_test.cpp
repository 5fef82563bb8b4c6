// The live summary (issue 19): posted in the incident channel on declare, pinned, and kept
// current with chat.update; a burst of changes makes one update.
#include <doctest/doctest.h>

#include <string>

#include "harness.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

bool shows(const json& message, const std::string& text) {
    return message.value("blocks", json::array()).dump().find(text) != std::string::npos;
}

std::size_t pending_refreshes(Outbox& outbox) {
    std::size_t n = 0;
    for (const auto& e : outbox.pending("slack")) n += e.kind == "summary" && e.incident == 1;
    return n;
}

// The chat.update calls of the messages in `channel` (the first announcement has its own).
std::vector<FakeSlack::Call> updates_in(FakeSlack& fake, const std::string& channel) {
    std::vector<FakeSlack::Call> found;
    for (auto& call : fake.calls_of("chat.update")) {
        if (call.args.value("channel", "") == channel) found.push_back(std::move(call));
    }
    return found;
}

}  // namespace

TEST_CASE(
    "slack live summary: posted and pinned on declare, one chat.update for a burst of changes, "
    "showing the incident as it is now") {
    SlackHarness h;
    std::unique_ptr<slack::SlackAdapter> stopped;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());

        // Posted in the incident channel, pinned there, and remembered in the store.
        std::string ts;
        for (const auto& [at, message] : h.fake->messages) {
            if (message.value("channel", "") == channel && shows(message, "INC-1: Checkout down"))
                ts = at;
        }
        REQUIRE_FALSE(ts.empty());
        CHECK(shows(h.fake->messages[ts], "investigating"));
        CHECK(shows(h.fake->messages[ts], "0 open, 0 done"));
        const auto pins = h.fake->calls_of("pins.add");
        REQUIRE(pins.size() == 1);
        CHECK(pins[0].args["channel"] == channel);
        CHECK(pins[0].args["timestamp"] == ts);
        CHECK(h.fake->pinned.count(channel + "/" + ts) == 1);
        const auto live = h.service.live_message(1, "slack");
        REQUIRE(live);
        CHECK(live->channel_id == channel);
        CHECK(live->message_id == ts);
        CHECK(updates_in(*h.fake, channel).size() == 0);

        // A burst: five changes while the lane is busy with the first one's topic. The one
        // refresh waiting stands for all of them.
        h.fake->holds["conversations.setTopic"] = 1;
        const char* burst[] = {"status identified", "sev 1", "role scribe <@U2|bob>",
                               "update Failover to the replica is done", "todo check the backups"};
        int n = 0;
        for (const char* text : burst) {
            const std::string id = "t-burst-" + std::to_string(++n);
            h.fake->deliver(slash_envelope(id, channel, "U1", "alice", text));
            REQUIRE(co_await h.acked("env-" + id));
        }
        REQUIRE(co_await wait_until([&] { return h.fake->held_calls == 1; }, milliseconds(5000)));
        CHECK(pending_refreshes(h.outbox) == 1);
        h.fake->release_held();
        REQUIRE(co_await h.idle());

        const auto updates = updates_in(*h.fake, channel);
        REQUIRE(updates.size() == 1);
        CHECK(updates[0].args["channel"] == channel);
        CHECK(updates[0].args["ts"] == ts);
        const json& now = h.fake->messages[ts];
        CHECK(shows(now, "*State:* identified"));
        CHECK(shows(now, "SEV1"));
        CHECK(shows(now, "*Scribe:* <@U2>"));
        CHECK(shows(now, "*Commander:* <@U1>"));
        CHECK(shows(now, "Failover to the replica is done"));
        CHECK(shows(now, "1 open, 0 done"));
        CHECK(now["text"].get<std::string>().find("identified") != std::string::npos);

        // A change the summary does not show updates nothing.
        h.fake->deliver(slash_envelope("t-note", channel, "U1", "alice", "note paged the DBA"));
        REQUIRE(co_await h.acked("env-t-note"));
        REQUIRE(co_await h.idle());
        CHECK(updates_in(*h.fake, channel).size() == 1);

        // The next change, one update more; after done, the counts move.
        h.fake->deliver(slash_envelope("t-done", channel, "U1", "alice", "done 1"));
        REQUIRE(co_await h.acked("env-t-done"));
        REQUIRE(co_await h.idle());
        CHECK(updates_in(*h.fake, channel).size() == 2);
        CHECK(shows(h.fake->messages[ts], "0 open, 1 done"));

        // A redelivered envelope changes nothing twice: no update.
        const auto acks_of = [&](const std::string& id) {
            std::size_t n = 0;
            for (const auto& a : h.fake->acks)
                n += a.is_object() && a.value("envelope_id", "") == id;
            return n;
        };
        REQUIRE(acks_of("env-t-done") == 1);
        h.fake->deliver(slash_envelope("t-done", channel, "U1", "alice", "done 1"));
        REQUIRE(
            co_await wait_until([&] { return acks_of("env-t-done") == 2; }, milliseconds(5000)));
        REQUIRE(co_await h.idle());
        CHECK(updates_in(*h.fake, channel).size() == 2);

        // The message's ts is in the store, not in the adapter: a new adapter updates the
        // same message.
        // (The stopped one stays alive until the end: its coroutines finish their calls.)
        stopped = std::move(h.adapter);
        stopped->stop();
        h.adapter = h.make_adapter();
        h.adapter->start();
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        h.fake->deliver(slash_envelope("t-mon", channel, "U1", "alice", "status monitoring"));
        REQUIRE(co_await h.acked("env-t-mon"));
        REQUIRE(co_await h.idle());
        const auto after = updates_in(*h.fake, channel);
        REQUIRE(after.size() == 3);
        CHECK(after[2].args["ts"] == ts);
        CHECK(shows(h.fake->messages[ts], "*State:* monitoring"));
        CHECK(h.fake->count("pins.add") == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("slack live summary: a refused chat.update is kept as failed, the lane goes on") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        // Someone deleted the summary: Slack answers message_not_found.
        const auto live = h.service.live_message(1, "slack");
        REQUIRE(live);
        h.fake->messages.erase(live->message_id);
        h.fake->deliver(slash_envelope("t-sev", channel, "U1", "alice", "sev 1"));
        REQUIRE(co_await h.acked("env-t-sev"));
        REQUIRE(co_await h.idle());
        bool failed = false;
        for (const auto& e : h.outbox.failed()) {
            failed |= e.kind == "summary" &&
                      e.error.find("chat.update: message_not_found") != std::string::npos;
        }
        CHECK(failed);
        // What came after it in the lane went out: the announcement of the change.
        bool announced = false;
        for (const auto& c : h.fake->calls_of("chat.postMessage")) {
            announced |= c.args.value("text", "").find("severity changed") != std::string::npos;
        }
        CHECK(announced);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack announcement: the incident's first announcement is kept current, later ones stay as "
    "posted") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        std::string announcements;
        for (const auto& [id, name] : h.fake->channel_names) {
            if (name == "incidents") announcements = id;
        }
        REQUIRE_FALSE(announcements.empty());
        std::string ts;
        for (const auto& [at, message] : h.fake->messages) {
            if (message.value("channel", "") == announcements &&
                message.value("text", "").find("declared by") != std::string::npos) {
                ts = at;
            }
        }
        REQUIRE_FALSE(ts.empty());
        const auto live = h.service.live_message(1, "slack", "announcement");
        REQUIRE(live);
        CHECK(live->channel_id == announcements);
        CHECK(live->message_id == ts);

        for (const char* text : {"sev 1", "update Failover to the replica is done"}) {
            const std::string id = std::string("t-") + text;
            h.fake->deliver(slash_envelope(id, channel, "U1", "alice", text));
            REQUIRE(co_await h.acked("env-" + id));
        }
        REQUIRE(co_await h.idle());
        const auto text_of = [&](const std::string& at) {
            return h.fake->messages[at].value("text", std::string());
        };
        CAPTURE(text_of(ts));
        CHECK(text_of(ts).find("*INC-1* (SEV1, investigating) Checkout down") == 0);
        CHECK(text_of(ts).find("Commander: @alice") != std::string::npos);
        CHECK(text_of(ts).find("Channel: #inc-1-checkout-down") != std::string::npos);
        CHECK(text_of(ts).find("Last update: Failover to the replica is done") !=
              std::string::npos);
        CHECK(shows(h.fake->messages[ts], "(SEV1, investigating)"));
        // Every update in the announcement channel is of that one message; the change
        // announcements themselves are new messages, left as posted.
        std::size_t announced_changes = 0;
        for (const auto& [at, message] : h.fake->messages) {
            if (at != ts && message.value("channel", "") == announcements) {
                ++announced_changes;
                CHECK(message.value("text", "").find("(SEV1, investigating)") == std::string::npos);
            }
        }
        CHECK(announced_changes == 2);
        for (const auto& update : h.fake->calls_of("chat.update")) {
            if (update.args["channel"] == announcements) CHECK(update.args["ts"] == ts);
        }

        h.fake->deliver(slash_envelope("t-resolve", channel, "U1", "alice", "resolve fixed"));
        REQUIRE(co_await h.acked("env-t-resolve"));
        REQUIRE(co_await h.idle());
        CHECK(text_of(ts).find("(SEV1, resolved)") != std::string::npos);

        // Deleted by hand: its update fails, and the channel's summary is still kept current.
        h.fake->messages.erase(ts);
        h.fake->deliver(slash_envelope("t-reopen", channel, "U1", "alice", "reopen"));
        REQUIRE(co_await h.acked("env-t-reopen"));
        REQUIRE(co_await h.idle());
        const auto summary = h.service.live_message(1, "slack");
        REQUIRE(summary);
        CHECK(shows(h.fake->messages[summary->message_id], "*State:* investigating"));
        h.adapter->stop();
    });
    CHECK(finished);
}
