#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>

#include "fault_proxy.hpp"
#include "harness.hpp"
#include "log_capture.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// The adapter on a fake Slack whose Socket Mode URL leads through a FaultProxy, with quick
// pings (a hung server is found within 200 ms) and a short Web API timeout.
struct FaultHarness {
    SlackHarness base;
    asio::io_context& io = base.io;
    FakeSlack& fake = *base.fake;
    FaultProxy proxy{io.get_executor(), fake.port()};
    IncidentService& service = base.service;
    std::unique_ptr<slack::SlackAdapter>& adapter = base.adapter;
    int next_message = 0;

    FaultHarness() {
        fake.socket_port = proxy.port();
        base.options.websocket.ping_interval = milliseconds(100);
        base.options.websocket.dead_after = milliseconds(200);
        base.options.api_timeout = milliseconds(300);
        adapter = base.make_adapter();
        adapter->api().set_retry_policy(4, milliseconds(20));
        adapter->start();
    }
    ~FaultHarness() { adapter->stop(); }

    asio::awaitable<bool> until(std::function<bool()> condition, int ms = 8000) {
        co_return co_await wait_until(std::move(condition), milliseconds(ms));
    }

    asio::awaitable<std::string> declare() {
        REQUIRE(co_await until([&] { return adapter->socket_connected(); }));
        fake.deliver(
            slash_envelope("t-declare", "CGENERAL", "U1", "alice", "declare sev2 Checkout down"));
        REQUIRE(co_await until([&] {
            return fake.unacked() == 0 && adapter->pending_effects() == 0 && service.find(1) &&
                   !service.find(1)->channel_id.empty();
        }));
        co_return service.find(1)->channel_id;
    }

    // The next message in the incident channel, as an envelope; its ts is its number.
    void say(const std::string& channel, int count = 1) {
        for (int i = 0; i < count; ++i, ++next_message) {
            const std::string n = std::to_string(next_message);
            fake.deliver(events_envelope(
                "Ev" + n, message_event(channel, "U2", "18000" + n + ".000100", "line " + n)));
        }
    }

    // Every message said so far is stored exactly once, and the fake holds nothing unacked.
    asio::awaitable<void> all_stored_once() {
        const bool drained =
            co_await until([&] { return fake.unacked() == 0 && adapter->socket_connected(); });
        CHECK_MESSAGE(drained, fake.unacked() << " envelopes unacked");
        std::map<std::string, int> stored;
        for (const auto& entry : service.timeline(1)) {
            if (entry.kind == EntryKind::message) ++stored[entry.message_id];
        }
        CHECK(stored.size() == std::size_t(next_message));
        for (const auto& [id, times] : stored)
            CHECK_MESSAGE(times == 1, id << " stored " << times << " times");
    }
};

}  // namespace

TEST_CASE(
    "slack faults: a frame torn in half, idle or mid-burst, loses no event and stores none twice") {
    FaultHarness h;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        const std::string channel = co_await h.declare();
        h.say(channel, 5);
        REQUIRE(co_await h.until([&] { return h.fake.unacked() == 0; }));

        // Idle: the next frame is cut halfway through its payload.
        h.proxy.tear_next_frame();
        h.say(channel);
        REQUIRE(co_await h.until(
            [&] { return h.fake.connections == 2 && h.adapter->socket_connected(); }));
        CHECK(h.proxy.torn() == 1);
        co_await h.all_stored_once();

        // In a burst: wherever the cut falls, what was not acked comes again.
        h.say(channel, 50);
        h.proxy.tear_next_frame();
        h.say(channel, 50);
        REQUIRE(co_await h.until([&] { return h.proxy.torn() == 2 && h.fake.connections == 3; }));
        co_await h.all_stored_once();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack faults: garbage payloads are acked and ignored, garbage frames cost a reconnect, "
    "nothing is lost") {
    FaultHarness h;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        const std::string channel = co_await h.declare();
        const auto entries = h.service.timeline(1).size();

        // Text frames that are no envelope, or envelopes with every field of the wrong type.
        h.fake.send_raw("");
        h.fake.send_raw("{\"type\":");
        h.fake.send_raw("{\"type\":5,\"envelope_id\":[]}");
        h.fake.send_raw(std::string(20'000, '['));
        h.fake.deliver(
            {{"envelope_id", "env-g1"}, {"type", "events_api"}, {"payload", "not an object"}});
        h.fake.deliver({{"envelope_id", "env-g2"},
                        {"type", "events_api"},
                        {"payload",
                         {{"type", "event_callback"},
                          {"event_id", "Eg2"},
                          {"event",
                           {{"type", "message"},
                            {"channel", 42},
                            {"user", json::array()},
                            {"ts", json::object()}}}}}});
        h.fake.deliver({{"envelope_id", "env-g3"},
                        {"type", "slash_commands"},
                        {"payload", {{"user_id", 1}, {"text", nullptr}}}});
        h.fake.deliver({{"envelope_id", "env-g4"},
                        {"type", "interactive"},
                        {"payload", {{"type", "block_actions"}, {"actions", "x"}}}});
        // Deeply nested JSON in a payload.
        h.fake.deliver("env-g5", R"({"envelope_id":"env-g5","type":"events_api","payload":)" +
                                     std::string(5000, '[') + std::string(5000, ']') + "}");
        h.say(channel);
        REQUIRE(co_await h.until([&] { return h.fake.unacked() == 0; }));
        CHECK(h.fake.connections == 1);
        CHECK(h.service.timeline(1).size() == entries + 1);

        // A text frame that is not UTF-8 breaks the WebSocket protocol: the bot reconnects.
        h.fake.send_raw("\xff\xfe\xfd");
        h.say(channel);
        REQUIRE(co_await h.until(
            [&] { return h.fake.connections == 2 && h.adapter->socket_connected(); }));
        co_await h.all_stored_once();

        // Bytes that are no frame at all (reserved bits and opcode): another reconnect.
        h.proxy.inject(std::string("\xF3\x05hello", 7));
        h.say(channel);
        REQUIRE(co_await h.until(
            [&] { return h.fake.connections == 3 && h.adapter->socket_connected(); }));
        co_await h.all_stored_once();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack faults: a server that stops reading is found dead by ping, and its unacked events come "
    "again") {
    LogCapture log;  // to see why the bot reconnected
    FaultHarness h;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        const std::string channel = co_await h.declare();
        h.fake.stall_next_connection();
        h.fake.drop();
        REQUIRE(co_await h.until([&] { return h.fake.connections == 2; }));
        // The hung connection still carries these to the bot, but never reads the acks.
        h.say(channel, 3);
        REQUIRE(co_await h.until(
            [&] { return h.fake.connections == 3 && h.adapter->socket_connected(); }));
        co_await h.all_stored_once();
        CHECK(h.adapter->health()["reconnects"].get<int>() >= 2);
        CHECK(log.contains("the connection is silent"));
    });
    CHECK(finished);
}

TEST_CASE("slack faults: Web API 500s and timeouts are retried until the effect happens") {
    FaultHarness h;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        const std::string channel = co_await h.declare();
        const auto posts_before = h.fake.count("chat.postMessage");

        h.fake.server_errors["chat.postMessage"] = 2;
        h.fake.stalls["conversations.setTopic"] = 1;
        h.fake.stall_for = milliseconds(1000);
        h.fake.deliver(slash_envelope("t-up", channel, "U1", "alice", "update rolling back"));
        h.fake.deliver(slash_envelope("t-state", channel, "U1", "alice", "status identified"));
        REQUIRE(co_await h.until(
            [&] { return h.fake.unacked() == 0 && h.adapter->pending_effects() == 0; }));

        int update_attempts = 0;
        for (const auto& call : h.fake.calls_of("chat.postMessage")) {
            update_attempts +=
                call.args.value("text", "").find("rolling back") != std::string::npos;
        }
        CHECK(update_attempts == 3);  // two 500s, then accepted
        CHECK(h.fake.count("chat.postMessage") > posts_before);
        CHECK(h.fake.stalled_calls == 1);
        bool topic = false;
        for (const auto& call : h.fake.calls_of("conversations.setTopic")) {
            topic |= call.args.value("topic", "").find("identified") != std::string::npos;
        }
        CHECK(topic);  // the call that timed out was made again and went through

        // apps.connections.open failing is retried by the reconnect loop, forever.
        h.fake.server_errors["apps.connections.open"] = 6;
        h.fake.drop();
        REQUIRE(co_await h.until(
            [&] { return h.fake.connections == 2 && h.adapter->socket_connected(); }));
        CHECK(h.fake.server_errors["apps.connections.open"] == 0);
        h.say(channel);
        co_await h.all_stored_once();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack faults: a connection that goes silent (no close, no pongs) is replaced within 10 s "
    "with the default settings, and an event is acked on the new one") {
    LogCapture log;
    SlackHarness base;  // the WebSocket options the bot ships with
    FakeSlack& fake = *base.fake;
    FaultProxy proxy{base.io.get_executor(), fake.port()};
    fake.socket_port = proxy.port();
    base.adapter = base.make_adapter();
    base.adapter->start();
    const bool finished = run_async(
        base.io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await wait_until([&] { return base.adapter->socket_connected(); },
                                        milliseconds(5000)));
            const std::string channel = co_await base.declare();
            REQUIRE(fake.connections == 1);

            // The flow is lost in the middle: TCP stays up, nothing comes, nothing goes.
            proxy.silence();
            REQUIRE(proxy.silenced() == 1);
            const auto silent_at = std::chrono::steady_clock::now();
            fake.deliver(events_envelope(
                "Ev-silent", message_event(channel, "U2", "1800000100.000100", "said meanwhile")));
            const bool acked_on_new = co_await wait_until(
                [&] {
                    const auto it = fake.acked_on.find("env-Ev-silent");
                    return it != fake.acked_on.end() && it->second == 2;
                },
                milliseconds(10'000));
            const auto took = std::chrono::duration_cast<milliseconds>(
                std::chrono::steady_clock::now() - silent_at);
            MESSAGE("silent connection replaced and the event acked in " << took.count() << " ms");
            CHECK(acked_on_new);
            CHECK(fake.connections == 2);
            CHECK(base.messages(1) == 1);
            CHECK(log.contains("the connection is silent"));
            CHECK(log.contains("socket mode connected again"));
        },
        milliseconds(30'000));
    CHECK(finished);
}
