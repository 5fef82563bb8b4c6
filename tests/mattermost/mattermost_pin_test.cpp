// Pins on Mattermost (issue 19): pinning a post in an incident channel makes it a key event
// of the post-mortem and unpinning unmarks it, like the 📌 reaction; the bot's own summary
// post is pinned and kept current.
#include <doctest/doctest.h>

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

std::optional<TimelineEntry> entry_of(IncidentService& service, const std::string& post_id) {
    for (const auto& e : service.timeline(1)) {
        if (e.message_id == post_id) return e;
    }
    return std::nullopt;
}

// The key-event rows of the post-mortem's timeline that quote `text`.
std::size_t key_rows(IncidentService& service, const std::string& text) {
    const std::string md = render_postmortem(service.snapshot(1));
    std::size_t rows = 0;
    for (std::size_t at = md.find("| key message |"); at != std::string::npos;
         at = md.find("| key message |", at + 1)) {
        const std::size_t end = md.find('\n', at);
        rows += md.substr(at, end - at).find(text) != std::string::npos;
    }
    return rows;
}

// The key under which the bot recorded the post_edited event of `post` as it is now.
std::string edit_key(const json& post) {
    return "mattermost:event:post_edited:" + post.at("id").get<std::string>() + ":" +
           std::to_string(post.at("update_at").get<std::int64_t>());
}

}  // namespace

TEST_CASE(
    "mattermost: a pinned post is a key event of the post-mortem, unpinned it is not, and a "
    "redelivered pin changes nothing") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const json slow = h.fake->post_message(channel, h.bob(), "db is slow since 14:02");
        const std::string id = slow["id"];
        const json other = h.fake->post_message(channel, h.carol(), "checking the replicas");
        REQUIRE(co_await h.idle());
        REQUIRE(entry_of(*h.service, id));
        CHECK_FALSE(entry_of(*h.service, id)->key_event);
        CHECK(key_rows(*h.service, "db is slow") == 0);

        // Pinned in the channel: a key event.
        const std::string pin = h.fake->pin_post(id, true);
        const json pinned_post = h.fake->posts.at(id);
        REQUIRE(co_await h.idle());
        CHECK(entry_of(*h.service, id)->key_event);
        CHECK(key_rows(*h.service, "db is slow since 14:02") == 1);
        // Its text is unchanged: pinning is not an edit.
        CHECK(entry_of(*h.service, id)->previous_texts.empty());
        CHECK_FALSE(entry_of(*h.service, id)->edited_at);

        // The same frame again (a redelivery): still one key event.
        h.fake->resend(pin);
        REQUIRE(co_await h.idle());
        CHECK(key_rows(*h.service, "db is slow since 14:02") == 1);

        // Edited while pinned: the new text, still a key event.
        h.fake->edit_post(id, "db is slow since 14:01");
        REQUIRE(co_await h.idle());
        CHECK(entry_of(*h.service, id)->key_event);
        CHECK(key_rows(*h.service, "db is slow since 14:01") == 1);

        // Unpinned: no longer a key event.
        h.fake->pin_post(id, false);
        REQUIRE(co_await h.idle());
        CHECK_FALSE(entry_of(*h.service, id)->key_event);
        CHECK(key_rows(*h.service, "db is slow") == 0);
        // The old pin delivered once more, as the same frame and as a new event of the same
        // change (its event id), marks nothing again.
        h.fake->resend(pin);
        h.fake->publish("post_edited", json{{"post", pinned_post.dump()}},
                        json{{"channel_id", channel}});
        REQUIRE(co_await h.idle());
        CHECK_FALSE(entry_of(*h.service, id)->key_event);

        // 📌 by reaction is left alone by an edit of the unpinned post (is_pinned false).
        h.fake->react(true, other["id"], h.alice(), "pushpin");
        REQUIRE(co_await h.idle());
        CHECK(entry_of(*h.service, other["id"])->key_event);
        h.fake->edit_post(other["id"], "checking the replicas: all in sync");
        REQUIRE(co_await h.idle());
        CHECK(entry_of(*h.service, other["id"])->key_event);
        CHECK(key_rows(*h.service, "all in sync") == 1);
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost live summary: posted and pinned on declare, one patch for a burst of changes, "
    "showing the incident as it is now") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const auto live = h.service->live_message(1, "mattermost");
        REQUIRE(live);
        CHECK(live->channel_id == channel);
        const std::string id = live->message_id;
        CHECK(h.fake->posts.at(id)["message"].get<std::string>().find(
                  "#### :rotating_light: INC-1: Checkout down") != std::string::npos);
        CHECK(h.fake->count("POST", "posts/" + id + "/pin") == 1);
        CHECK(h.fake->posts.at(id)["is_pinned"] == true);
        CHECK(h.fake->count("PUT", "posts/") == 0);

        // A burst while the lane waits out a 429 on the first change's header: the one
        // refresh waiting stands for all of them.
        h.fake->retry_after_seconds = 2;
        h.fake->rate_limit["PUT channels"] = 1;
        for (const char* text : {"status identified", "sev 1", "role scribe @bob",
                                 "update Failover to the replica is done", "todo check backups"}) {
            const json reply = co_await h.fake->run_command(channel, h.alice(), text);
            CHECK(reply.value("text", "").find("Unknown") == std::string::npos);
        }
        std::size_t waiting = 0;
        for (const auto& e : h.outbox->pending("mattermost")) waiting += e.kind == "summary";
        CHECK(waiting == 1);
        REQUIRE(co_await h.idle());

        const auto patches = h.fake->calls_of("PUT", "posts/" + id + "/patch");
        REQUIRE(patches.size() == 1);
        const std::string now = h.fake->posts.at(id)["message"];
        CHECK(now.find("**State:** identified") != std::string::npos);
        CHECK(now.find("SEV1") != std::string::npos);
        CHECK(now.find("**Scribe:** @bob") != std::string::npos);
        CHECK(now.find("Failover to the replica is done") != std::string::npos);
        CHECK(now.find("1 open, 0 done") != std::string::npos);
        // The bot's own edit is not chatter: the timeline did not get it.
        CHECK(h.messages(1) == 0);

        // A change the summary does not show patches nothing; the next one does.
        co_await h.fake->run_command(channel, h.alice(), "note paged the DBA");
        REQUIRE(co_await h.idle());
        CHECK(h.fake->count("PUT", "posts/" + id + "/patch") == 1);
        co_await h.fake->run_command(channel, h.alice(), "done 1");
        REQUIRE(co_await h.idle());
        CHECK(h.fake->count("PUT", "posts/" + id + "/patch") == 2);
        CHECK(h.fake->posts.at(id)["message"].get<std::string>().find("0 open, 1 done") !=
              std::string::npos);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost announcement: the incident's first announcement is kept current") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        std::string id;
        for (const auto& [post_id, post] : h.fake->posts) {
            if (post.value("channel_id", "") != channel &&
                post.value("message", "").find("declared by") != std::string::npos) {
                id = post_id;
            }
        }
        REQUIRE_FALSE(id.empty());
        const auto live = h.service->live_message(1, "mattermost", "announcement");
        REQUIRE(live);
        CHECK(live->message_id == id);
        const std::string announcements = live->channel_id;

        for (const char* text : {"sev 1", "update Failover to the replica is done"}) {
            co_await h.fake->run_command(channel, h.alice(), text);
        }
        REQUIRE(co_await h.idle());
        const std::string now = h.fake->posts.at(id)["message"];
        CAPTURE(now);
        CHECK(now.find("**INC-1** (SEV1, investigating) Checkout down") == 0);
        CHECK(now.find("Commander: @alice") != std::string::npos);
        CHECK(now.find("Last update: Failover to the replica is done") != std::string::npos);
        // The changes were announced as posts of their own, and only the first is patched.
        std::size_t others = 0;
        for (const auto& [post_id, post] : h.fake->posts) {
            others += post_id != id && post.value("channel_id", "") == announcements;
        }
        CHECK(others == 2);
        CHECK(h.fake->count("PUT", "posts/" + id + "/patch") >= 1);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost resync: a post pinned while the socket was down is a key event after the "
    "reconnect, once, one unpinned meanwhile is not, and an unchanged post is not recorded again") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const std::string slow = h.fake->post_message(channel, h.bob(), "db is slow")["id"];
        const std::string replicas =
            h.fake->post_message(channel, h.carol(), "failing over to the replica")["id"];
        const std::string quiet = h.fake->post_message(channel, h.carol(), "looking")["id"];
        h.fake->pin_post(replicas, true);
        REQUIRE(co_await h.idle());
        REQUIRE(entry_of(*h.service, replicas)->key_event);
        REQUIRE_FALSE(entry_of(*h.service, slow)->key_event);

        // A server restart: nothing published meanwhile reaches the bot over the socket.
        h.fake->forget_connections();
        h.fake->drop();
        REQUIRE(co_await wait_until([&] { return !h.fake->connected(); }, milliseconds(2000)));
        h.fake->pin_post(slow, true);
        h.fake->pin_post(replicas, false);
        // Moves update_at only, as every reaction does: `since` returns the post again.
        h.fake->react(true, quiet, h.alice(), "eyes");
        REQUIRE(co_await wait_until(
            [&] { return h.fake->hellos == 2 && h.adapter->socket_connected(); },
            milliseconds(5000)));
        // Said after the reconnect: processed after the re-read, so once it is stored the
        // re-read is over.
        const std::string after = h.fake->post_message(channel, h.bob(), "back")["id"];
        REQUIRE(co_await wait_until([&] { return entry_of(*h.service, after).has_value(); },
                                    milliseconds(5000)));
        REQUIRE(co_await h.idle());
        CHECK(h.fake->count("GET", "channels/" + channel + "/posts?since=") == 1);

        CHECK(entry_of(*h.service, slow)->key_event);
        CHECK(key_rows(*h.service, "db is slow") == 1);
        CHECK(entry_of(*h.service, slow)->previous_texts.empty());
        CHECK_FALSE(entry_of(*h.service, slow)->edited_at);
        CHECK_FALSE(entry_of(*h.service, replicas)->key_event);
        CHECK(key_rows(*h.service, "failing over") == 0);
        // Each pin change recorded under the id the socket would have given it; the post
        // that only got a reaction, under none.
        CHECK(h.store.processed(edit_key(h.fake->posts.at(slow))));
        CHECK(h.store.processed(edit_key(h.fake->posts.at(replicas))));
        CHECK_FALSE(h.store.processed(edit_key(h.fake->posts.at(quiet))));
        CHECK(h.messages(1) == 4);

        // The same pin seen once more on the socket changes nothing.
        h.fake->publish("post_edited", json{{"post", h.fake->posts.at(slow).dump()}},
                        json{{"channel_id", channel}});
        REQUIRE(co_await h.idle());
        CHECK(key_rows(*h.service, "db is slow") == 1);
        CHECK(h.messages(1) == 4);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE("mattermost: a 📌-reacted post stays a key event through a props-only post_edited") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const std::string id = h.fake->post_message(channel, h.bob(), "db is slow")["id"];
        h.fake->react(true, id, h.alice(), "pushpin");
        REQUIRE(co_await h.idle());
        REQUIRE(entry_of(*h.service, id)->key_event);

        // An integration sets a prop: the same text, is_pinned false.
        h.fake->set_props(id, json{{"triage", "db"}});
        REQUIRE(co_await h.idle());
        CHECK(entry_of(*h.service, id)->key_event);
        CHECK(key_rows(*h.service, "db is slow") == 1);
        CHECK(entry_of(*h.service, id)->previous_texts.empty());

        // Removing the 📌 is what unmarks it.
        h.fake->react(false, id, h.alice(), "pushpin");
        REQUIRE(co_await h.idle());
        CHECK_FALSE(entry_of(*h.service, id)->key_event);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost: a post both pinned and 📌-reacted stays a key event until both marks are gone, "
    "in either order") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const std::string first = h.fake->post_message(channel, h.bob(), "db is slow")["id"];
        const std::string second =
            h.fake->post_message(channel, h.carol(), "failing over to the replica")["id"];
        for (const auto& id : {first, second}) {
            h.fake->pin_post(id, true);
            h.fake->react(true, id, h.alice(), "pushpin");
        }
        REQUIRE(co_await h.idle());
        CHECK(entry_of(*h.service, first)->key_event);
        CHECK(entry_of(*h.service, second)->key_event);

        // Unpinned first: the 📌 still marks it.
        h.fake->pin_post(first, false);
        REQUIRE(co_await h.idle());
        CHECK(entry_of(*h.service, first)->key_event);
        CHECK(key_rows(*h.service, "db is slow") == 1);
        h.fake->react(false, first, h.alice(), "pushpin");
        REQUIRE(co_await h.idle());
        CHECK_FALSE(entry_of(*h.service, first)->key_event);
        CHECK(key_rows(*h.service, "db is slow") == 0);

        // The 📌 removed first: the pin still marks it.
        h.fake->react(false, second, h.alice(), "pushpin");
        REQUIRE(co_await h.idle());
        CHECK(entry_of(*h.service, second)->key_event);
        CHECK(key_rows(*h.service, "failing over") == 1);
        h.fake->pin_post(second, false);
        REQUIRE(co_await h.idle());
        CHECK_FALSE(entry_of(*h.service, second)->key_event);
        h.adapter->stop();
    });
    CHECK(finished);
}
