#include <doctest/doctest.h>

#include <map>
#include <string>

#include "../slack/fault_proxy.hpp"
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

// The harness with its REST calls and WebSocket going through a FaultProxy, quick pings
// and a short REST timeout.
struct FaultHarness {
    MattermostHarness h{ping_every_100ms()};
    FaultProxy proxy{h.io.get_executor(), h.fake->port()};
    int said = 0;

    static MattermostHarnessOptions ping_every_100ms() {
        MattermostHarnessOptions o;
        o.ping_interval = milliseconds(100);
        return o;
    }

    FaultHarness() {
        h.options_.url = proxy.url();
        h.options_.api_timeout = milliseconds(300);
        h.adapter = h.make_adapter();
        h.adapter->start();
    }

    void say(const std::string& channel, int count = 1) {
        for (int i = 0; i < count; ++i)
            h.fake->post_message(channel, h.bob(), "line " + std::to_string(said++));
    }

    // Every message said is stored exactly once.
    void check_stored_once() {
        std::map<std::string, int> stored;
        for (const auto& entry : h.service->timeline(1)) {
            if (entry.kind == EntryKind::message) ++stored[entry.message_id];
        }
        CHECK(stored.size() == std::size_t(said));
        for (const auto& [id, times] : stored)
            CHECK_MESSAGE(times == 1, id << " stored " << times << " times");
    }
};

}  // namespace

TEST_CASE("mattermost faults: a frame torn in half is resumed, replayed, stored once") {
    FaultHarness f;
    auto& h = f.h;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        f.say(channel, 5);
        REQUIRE(co_await h.idle());

        f.proxy.tear_next_frame();
        f.say(channel, 3);
        REQUIRE(co_await wait_until(
            [&] { return h.fake->connections == 2 && h.adapter->socket_connected(); },
            milliseconds(5000)));
        REQUIRE(co_await h.idle());
        CHECK(f.proxy.torn() == 1);
        CHECK(h.fake->replays == 1);  // resumed: the server replayed what the cut hid
        CHECK(h.fake->hellos == 1);
        f.check_stored_once();
    });
    CHECK(finished);
}

TEST_CASE("mattermost faults: garbage frames cost a resume, garbage payloads change nothing") {
    FaultHarness f;
    auto& h = f.h;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const json broadcast{{"channel_id", channel}};
        h.fake->publish("posted",
                        json{{"post", R"({"id":7,"channel_id":[],"user_id":{},"create_at":"x"})"}},
                        broadcast);
        h.fake->publish("posted", json{{"post", std::string(5000, '[') + std::string(5000, ']')}},
                        broadcast);
        h.fake->publish("reaction_removed", json{{"reaction", R"({"user_id":1,"post_id":null})"}},
                        broadcast);
        h.fake->send_raw(R"({"event":"posted","data":"x","broadcast":[]})");
        // Deeply nested JSON in data (a copy of it used to recurse once per level).
        h.fake->send_raw(R"({"event":"typing","data":{"deep":)" + std::string(5000, '[') +
                         std::string(5000, ']') + R"(},"broadcast":{}})");
        f.say(channel);
        REQUIRE(co_await h.idle());
        CHECK(h.fake->connections == 1);

        // A text frame that is not UTF-8 breaks the protocol: the socket is resumed.
        h.fake->send_raw("\xff\xfe\xfd");
        f.say(channel);
        REQUIRE(co_await wait_until(
            [&] { return h.fake->connections == 2 && h.adapter->socket_connected(); },
            milliseconds(5000)));
        REQUIRE(co_await h.idle());

        // Bytes that are no frame at all: resumed again.
        f.proxy.inject(std::string("\xF3\x05hello", 7));
        f.say(channel);
        REQUIRE(co_await wait_until(
            [&] { return h.fake->connections == 3 && h.adapter->socket_connected(); },
            milliseconds(5000)));
        REQUIRE(co_await h.idle());
        CHECK(h.fake->hellos == 1);
        f.check_stored_once();
    });
    CHECK(finished);
}

TEST_CASE("mattermost faults: REST 500s and timeouts are retried until the effect happens") {
    FaultHarness f;
    auto& h = f.h;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());

        h.fake->server_errors["POST posts"] = 2;
        h.fake->stalls["PUT channels"] = 1;
        h.fake->stall_for = milliseconds(1000);
        co_await h.fake->run_command(channel, h.alice(), "update rolling back");
        co_await h.fake->run_command(channel, h.alice(), "status identified");
        REQUIRE(co_await h.idle());

        int update_attempts = 0;
        for (const auto& call : h.fake->calls_of("POST", "posts")) {
            update_attempts +=
                call.body.value("message", "").find("rolling back") != std::string::npos;
        }
        CHECK(update_attempts == 3);  // two 500s, then created
        CHECK(h.fake->stalled_calls == 1);
        CHECK(h.fake->channels.at(channel).header.find("identified") != std::string::npos);
        f.say(channel);
        REQUIRE(co_await h.idle());
        f.check_stored_once();
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost faults: a WebSocket that goes silent (no close, no pongs) is resumed within 10 s "
    "with the default settings, and the event said meanwhile is stored") {
    LogCapture log;
    MattermostHarness h;  // the WebSocket options the bot ships with
    FaultProxy proxy{h.io.get_executor(), h.fake->port()};
    h.options_.url = proxy.url();
    h.adapter = h.make_adapter();
    h.adapter->start();
    const bool finished = run_async(
        h.io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await h.ready());
            const std::string channel = co_await h.declare();
            REQUIRE_FALSE(channel.empty());
            REQUIRE(h.fake->connections == 1);

            // The flow is lost: TCP stays up, nothing comes, nothing goes. REST still works.
            proxy.silence();
            REQUIRE(proxy.silenced() == 1);
            const auto silent_at = std::chrono::steady_clock::now();
            h.fake->post_message(channel, h.bob(), "said while the socket was silent");
            const bool resumed = co_await wait_until(
                [&] {
                    return h.fake->connections == 2 && h.adapter->socket_connected() &&
                           h.messages(1) == 1;
                },
                milliseconds(10'000));
            const auto took = std::chrono::duration_cast<milliseconds>(
                std::chrono::steady_clock::now() - silent_at);
            MESSAGE("silent WebSocket resumed and the post stored in " << took.count() << " ms");
            CHECK(resumed);
            CHECK(h.fake->replays == 1);  // resumed: the post came again from the dead queue
            CHECK(log.contains("no frame or pong for"));
            CHECK(log.contains("websocket authenticated again"));
        },
        milliseconds(30'000));
    CHECK(finished);
}

TEST_CASE(
    "mattermost faults: a poison event (a lone UTF-16 surrogate, or no JSON at all) never stalls "
    "the stream: stored with U+FFFD or skipped, no reconnect, the next event goes through") {
    LogCapture log;
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());

        // A posted event with half a surrogate pair in the post's message (inside the JSON
        // string data.post) and in sender_name (in the frame itself).
        const json post{{"id", mm_id("poison")},
                        {"create_at", 1'800'000'000'000},
                        {"update_at", 1'800'000'000'000},
                        {"edit_at", 0},
                        {"delete_at", 0},
                        {"user_id", h.bob()},
                        {"channel_id", channel},
                        {"root_id", ""},
                        {"message", "before INNER after"},
                        {"type", ""},
                        {"props", json::object()}};
        const json data{{"post", post.dump()},
                        {"sender_name", "@bob OUTER"},
                        {"channel_type", "O"},
                        {"team_id", h.fake->team_id}};
        std::string text = data.dump();
        text.replace(text.find("INNER"), 5, "\\\\ud800");
        text.replace(text.find("OUTER"), 5, "\\udc00");
        const json broadcast{{"channel_id", channel}};
        const std::string poison = h.fake->publish_text("posted", text, broadcast);
        REQUIRE_FALSE(json::accept(poison));
        // Beyond repair: cut short, only its seq at the end is readable.
        h.fake->publish_text("posted", R"({"post": "{\"id\": \"cut)", broadcast);
        h.fake->post_message(channel, h.bob(), "next one");
        REQUIRE(co_await h.idle());

        CHECK(h.fake->connections == 1);  // no gap seen, no reconnect, no replay
        CHECK(h.fake->replays == 0);
        std::vector<std::string> texts;
        for (const auto& e : h.service->timeline(1)) {
            if (e.kind == EntryKind::message) texts.push_back(e.text);
        }
        REQUIRE(texts.size() == 2);
        CHECK(texts[0] == "before \xEF\xBF\xBD after");
        CHECK(texts[1] == "next one");
        CHECK(log.contains("invalid JSON escapes"));
        CHECK(log.contains("is not valid JSON even with its escapes repaired; skipped"));
    });
    CHECK(finished);
}
