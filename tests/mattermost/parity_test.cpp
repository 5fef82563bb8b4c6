#include <doctest/doctest.h>

#include <regex>

#include "../slack/harness.hpp"
#include "bot/postmortem.hpp"
#include "harness.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr Timestamp k_t0 = 1'800'000'000'000;

// The script's clock, in minutes after the declaration.
Timestamp at(int minutes) {
    return k_t0 + minutes * 60'000;
}
std::string slack_ts(int minutes) {
    return std::to_string(at(minutes) / 1000) + ".000100";
}

// The Slack harness with the script's clock; each step waits for its ack and its effects.
struct SlackSide : SlackHarness {
    int next_envelope = 0;

    SlackSide() : SlackHarness(SlackHarnessOptions::with_manual_clock()) {
        fake->taken_names.clear();
    }

    asio::awaitable<bool> deliver(json envelope) {
        const std::string id = envelope["envelope_id"];
        fake->deliver(envelope);
        if (!co_await acked(id)) co_return false;
        co_return co_await idle();
    }

    asio::awaitable<bool> command(int minutes, const std::string& channel, const std::string& user,
                                  const std::string& name, const std::string& text) {
        manual_clock.set(at(minutes));
        const std::string trigger = "t" + std::to_string(++next_envelope);
        co_return co_await deliver(slash_envelope(trigger, channel, user, name, text));
    }

    asio::awaitable<bool> event(json event) {
        const std::string id = "Ev" + std::to_string(++next_envelope);
        co_return co_await deliver(events_envelope(id, std::move(event)));
    }
};

// The incident script, on Slack.
std::string play_on_slack() {
    SlackSide s;
    s.adapter->start();
    const bool finished = run_async(s.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return s.adapter->socket_connected(); }, milliseconds(5000)));
        REQUIRE(co_await s.command(0, "CGENERAL", "U1", "alice", "declare sev2 Checkout down"));
        const std::string c = s.service.find(1)->channel_id;
        REQUIRE_FALSE(c.empty());
        REQUIRE(co_await s.event(message_event(c, "U2", slack_ts(1), "db is slow")));
        REQUIRE(co_await s.event(
            message_event(c, "U3", slack_ts(2), "TODO: @bob add an index due:2026-12-01")));
        REQUIRE(co_await s.event(message_event(c, "U2", slack_ts(3), "rollback stated")));
        json edit = edit_event(c, "U2", slack_ts(3), "rollback started");
        edit["ts"] = slack_ts(4);
        REQUIRE(co_await s.event(edit));
        REQUIRE(co_await s.event(message_event(c, "U2", slack_ts(5), "oops")));
        json deleted = delete_event(c, slack_ts(5));
        deleted["ts"] = slack_ts(6);
        deleted["event_ts"] = slack_ts(6);
        REQUIRE(co_await s.event(deleted));
        json pin = reaction_event(true, c, "U3", slack_ts(1), "pushpin");
        pin["event_ts"] = slack_ts(7);
        REQUIRE(co_await s.event(pin));
        json reply = message_event(c, "U3", slack_ts(8), "looking at the slow query log");
        reply["thread_ts"] = slack_ts(1);
        REQUIRE(co_await s.event(reply));
        REQUIRE(co_await s.command(10, c, "U1", "alice", "status identified"));
        REQUIRE(co_await s.command(15, c, "U1", "alice", "update the index is building"));
        REQUIRE(co_await s.command(20, c, "U1", "alice", "resolve sev2 Added the index"));
        REQUIRE(co_await s.command(30, c, "U1", "alice",
                                   "postmortem owner <@U3|carol> due 2026-12-08"));
        s.adapter->stop();
    });
    CHECK(finished);
    return render_postmortem(s.service.snapshot(1));
}

// The same script, on Mattermost.
std::string play_on_mattermost() {
    MattermostHarness h(with_manual_clock());
    h.fake->taken_names.clear();
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const auto command = [&](int minutes, const std::string& channel, const std::string& user,
                                 const std::string& text) -> asio::awaitable<bool> {
            h.manual->set(at(minutes));
            const json reply = co_await h.fake->run_command(channel, user, text);
            if (!reply.contains("text")) co_return false;
            const bool idle = co_await h.idle();
            co_return idle;
        };
        REQUIRE(
            co_await command(0, h.fake->town_square_id, h.alice(), "declare sev2 Checkout down"));
        const std::string c = h.service->find(1)->channel_id;
        REQUIRE_FALSE(c.empty());
        const json slow = h.fake->post_message(c, h.bob(), "db is slow", {}, at(1));
        h.fake->post_message(c, h.carol(), "TODO: @bob add an index due:2026-12-01", {}, at(2));
        const json typo = h.fake->post_message(c, h.bob(), "rollback stated", {}, at(3));
        h.fake->edit_post(typo["id"].get<std::string>(), "rollback started", at(4));
        const json oops = h.fake->post_message(c, h.bob(), "oops", {}, at(5));
        h.fake->delete_post(oops["id"].get<std::string>(), at(6));
        h.fake->react(true, slow["id"].get<std::string>(), h.carol(), "pushpin", at(7));
        h.fake->post_message(c, h.carol(), "looking at the slow query log",
                             slow["id"].get<std::string>(), at(8));
        REQUIRE(co_await h.idle());
        REQUIRE(co_await command(10, c, h.alice(), "status identified"));
        REQUIRE(co_await command(15, c, h.alice(), "update the index is building"));
        REQUIRE(co_await command(20, c, h.alice(), "resolve sev2 Added the index"));
        REQUIRE(co_await command(30, c, h.alice(), "postmortem owner @carol due 2026-12-08"));
        h.adapter->stop();
    });
    CHECK(finished);
    return render_postmortem(h.service->snapshot(1));
}

// Platform-specific spellings of the same thing: Slack's mention markup.
std::string normalise(std::string md) {
    // In table cells the pipe is escaped: <@U3\|carol>.
    static const std::regex slack_mention(R"(<@[A-Z0-9]+\\?\|([^>]+)>)");
    return std::regex_replace(md, slack_mention, "@$1");
}

}  // namespace

TEST_CASE("parity: one incident script on Slack and on Mattermost gives the same post-mortem") {
    const std::string slack = normalise(play_on_slack());
    const std::string mattermost = normalise(play_on_mattermost());
    // Not vacuous: the script's substance is in there.
    CHECK(slack.find("| Channel | #inc-1-checkout-down |") != std::string::npos);
    CHECK(slack.find("**@bob** 📌: db is slow") != std::string::npos);
    CHECK(slack.find("**@carol** (in thread): looking at the slow query log") != std::string::npos);
    CHECK(slack.find("rollback started *(edited") != std::string::npos);
    CHECK(slack.find("~~oops~~") != std::string::npos);
    CHECK(slack.find("| 1 | @bob add an index | @bob | 2026-12-01 | open | todo_line |") !=
          std::string::npos);
    CHECK(slack.find("| Identified | ") != std::string::npos);
    CHECK(slack.find("- Post-mortem owner: @carol") != std::string::npos);
    CHECK(slack.find("Added the index") != std::string::npos);
    CHECK(mattermost == slack);
    if (mattermost != slack) {
        MESSAGE("slack:\n" << slack);
        MESSAGE("mattermost:\n" << mattermost);
    }
}
