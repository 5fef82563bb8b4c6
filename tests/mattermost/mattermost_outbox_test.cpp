#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "bot/reconcile.hpp"
#include "harness.hpp"

// Effects on Mattermost go through the durable outbox: what the server cannot take now is
// retried in order, what it refuses is kept as failed until someone retries it.
using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// Posts of the fake into `channel` whose message contains `text`.
int posts_with(const FakeMattermost& fake, const std::string& channel, const std::string& text) {
    int n = 0;
    for (const auto& [id, post] : fake.posts) {
        n += post.value("channel_id", "") == channel &&
             post.value("message", "").find(text) != std::string::npos;
    }
    return n;
}

}  // namespace

TEST_CASE(
    "mattermost outbox: 500s past the REST client's own retries, then recovery: one channel, "
    "its summary, the announcement, each once and in order") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        // Far more 500s than the REST client retries (3): the outbox tries again later.
        h.fake->server_errors["POST channels"] = 8;
        h.fake->server_errors["POST posts"] = 8;
        const json reply = co_await h.fake->run_command(h.fake->town_square_id, h.alice(),
                                                        "declare sev2 Checkout down");
        REQUIRE(reply.value("response_type", "") == "in_channel");
        REQUIRE(co_await wait_until(
            [&] {
                const auto pending = h.outbox->pending("mattermost");
                return !pending.empty() && pending.front().attempts >= 1;
            },
            milliseconds(8000)));
        CHECK(h.outbox->pending("mattermost").front().kind == "create_channel");
        CHECK(h.outbox->pending("mattermost").front().error.find("HTTP 500") != std::string::npos);
        REQUIRE(co_await h.idle());

        const auto inc = h.service->find(1);
        REQUIRE(inc);
        REQUIRE_FALSE(inc->channel_id.empty());
        int incident_channels = 0;
        std::string announcements;
        for (const auto& [id, c] : h.fake->channels) {
            incident_channels += c.name.starts_with("inc-1-");
            if (c.name == "incidents") announcements = id;
        }
        CHECK(incident_channels == 1);
        CHECK(posts_with(*h.fake, inc->channel_id, "INC-1: Checkout down") == 1);
        REQUIRE_FALSE(announcements.empty());
        CHECK(posts_with(*h.fake, announcements, "declared by") == 1);
        // The channel came before anything posted into it or announced.
        std::size_t created = SIZE_MAX, announced = SIZE_MAX;
        for (std::size_t i = 0; i < h.fake->calls.size(); ++i) {
            const auto& c = h.fake->calls[i];
            if (created == SIZE_MAX && c.method == "POST" && c.path == "channels" &&
                c.body.value("name", "").starts_with("inc-1-")) {
                created = i;
            }
            if (c.method == "POST" && c.path == "posts" &&
                c.body.value("message", "").find("declared by") != std::string::npos) {
                announced = i;
            }
        }
        CHECK(created < announced);
        CHECK(h.outbox->counts().failed_total() == 0);
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost outbox: a post the server refuses (403 even after joining) is kept as failed "
    "with its error, and Retry delivers it once the server accepts") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());

        // Refused, then refused again after the bot joined the channel.
        h.fake->forbidden["POST posts"] = 2;
        co_await h.fake->run_command(channel, h.alice(), "update rolling back the deploy");
        REQUIRE(
            co_await wait_until([&] { return !h.outbox->failed().empty(); }, milliseconds(8000)));
        const auto failed = h.outbox->failed();
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].sink == "mattermost");
        CHECK(failed[0].kind == "post");
        CHECK(failed[0].error.find("POST posts: HTTP 403") != std::string::npos);
        CHECK(h.outbox->counts().failed_total() == 1);
        // Refused for good: not tried again by itself.
        const std::size_t calls = h.fake->calls.size();
        REQUIRE(co_await h.idle());
        CHECK(h.fake->calls.size() == calls);

        REQUIRE(h.outbox->retry(failed[0].id));
        h.outbox->wake_all();
        REQUIRE(co_await wait_until(
            [&] { return h.outbox->entry(failed[0].id)->status == OutboxStatus::delivered; },
            milliseconds(8000)));
        CHECK(h.outbox->counts().failed_total() == 0);
        int updates = 0;
        for (const auto& [id, post] : h.fake->posts) {
            updates +=
                post.value("message", "").find("rolling back the deploy") != std::string::npos;
        }
        CHECK(updates >= 1);
        CHECK_FALSE(h.outbox->retry(failed[0].id));  // delivered: nothing to retry
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost outbox: a restart on the same database delivers what was pending, and a "
    "channel whose creation answer was lost is adopted, not made twice") {
    MattermostHarness h;
    h.adapter->start();
    std::unique_ptr<mattermost::MattermostAdapter> first;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        // The first process decides on the declare's effects; the channel creation keeps
        // failing (as when its answers are lost) until the process stops.
        h.fake->server_errors["POST channels"] = 1'000'000;
        const json reply = co_await h.fake->run_command(h.fake->town_square_id, h.alice(),
                                                        "declare sev2 Checkout down");
        CHECK(reply.value("response_type", "") == "in_channel");
        REQUIRE(co_await wait_until(
            [&] {
                const auto pending = h.outbox->pending("mattermost");
                return !pending.empty() && pending.front().attempts >= 1;
            },
            milliseconds(8000)));
        // Stopped, and kept until the end (its coroutines may still be waking up); the attempt
        // under way ends before the server recovers.
        first = std::move(h.adapter);
        first->stop();
        REQUIRE(co_await wait_until([&] { return !first->delivering(); }, milliseconds(5000)));
        REQUIRE(h.outbox->pending("mattermost").size() >= 2);

        // The server had made the channel after all, under the entry's name, created by the
        // bot after the entry was written.
        const auto create = h.outbox->pending("mattermost").front();
        REQUIRE(create.kind == "create_channel");
        h.fake->server_errors.clear();
        h.fake->taken_names.clear();
        FakeMattermost::Channel lost;
        lost.id = mm_id("lostchan");
        lost.team_id = h.fake->team_id;
        lost.name = json::parse(create.payload).value("name", std::string());
        lost.type = "O";
        lost.members = {h.fake->bot_user_id};
        lost.creator_id = h.fake->bot_user_id;
        REQUIRE(lost.name == "inc-1-checkout-down");
        h.fake->channels[lost.id] = lost;

        h.adapter = h.make_adapter();
        h.adapter->start();
        REQUIRE(co_await h.ready());
        REQUIRE(co_await h.idle());
        const auto inc = h.service->find(1);
        REQUIRE(inc);
        CHECK(inc->channel_id == lost.id);
        int incident_channels = 0;
        for (const auto& [id, c] : h.fake->channels)
            incident_channels += c.name.starts_with("inc-1-");
        CHECK(incident_channels == 1);
        CHECK(posts_with(*h.fake, lost.id, "INC-1: Checkout down") == 1);
        CHECK(h.outbox->pending("mattermost").empty());
    });
    CHECK(finished);
}

namespace {

// A post the bot made through POST posts with `text` in it: not a slash command's reply (the
// server posts it itself), nor the live summary (patched to show the last update).
// A post the bot made with `text`; not the two it keeps current (the summary and the first
// announcement), which show the last update too.
bool bot_post_with(MattermostHarness& h, const json& post, const std::string& text) {
    const std::string id = post.value("id", "");
    for (const char* purpose : {"summary", "announcement"}) {
        const auto live = h.service->live_message(1, "mattermost", purpose);
        if (live && id == live->message_id) return false;
    }
    return post.value("message", "").find(text) != std::string::npos &&
           post["props"].value("from_webhook", "") != "true";
}

// How many such posts each channel of the fake holds.
std::map<std::string, int> posts_by_channel(MattermostHarness& h, const std::string& text) {
    std::map<std::string, int> out;
    for (const auto& [id, post] : h.fake->posts) {
        if (bot_post_with(h, post, text)) ++out[post.value("channel_id", "")];
    }
    return out;
}

int post_calls_with(const FakeMattermost& fake, const std::string& text) {
    int n = 0;
    for (const auto& call : fake.calls_of("POST", "posts")) {
        n += call.path == "posts" && call.body.value("message", "").find(text) != std::string::npos;
    }
    return n;
}

// GET channels/{id}/posts?page=0&per_page=... calls: the bot reading its recent posts.
int recent_posts_reads(const FakeMattermost& fake) {
    int n = 0;
    for (const auto& call : fake.calls_of("GET", "channels/")) {
        n += call.path.find("/posts?page=0&per_page=") != std::string::npos;
    }
    return n;
}

}  // namespace

TEST_CASE("mattermost: the fake's page of channel posts is the documented PostList") {
    const auto path = std::filesystem::path(INCIDENT_BOT_PROTOCOL_DIR) / "mattermost" / "fixtures" /
                      "channel_posts.api-docs.json";
    std::ifstream in(path);
    const json documented = json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
    MattermostHarness h;
    h.adapter->start();
    json answer;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        for (int i = 0; i < 3; ++i)
            h.fake->post_message(channel, h.bob(), "note " + std::to_string(i));
        net::HttpRequest request;
        request.url = h.fake->url() + "/api/v4/channels/" + channel + "/posts?page=0&per_page=2";
        request.headers.set("Authorization", "Bearer " + h.fake->token);
        const net::HttpResponse response = co_await h.client->request(std::move(request));
        answer = json::parse(response.body, nullptr, false);
    });
    REQUIRE(finished);
    std::set<std::string> ours, theirs;
    for (const auto& [k, v] : answer.items()) ours.insert(k);
    for (const auto& [k, v] : documented.items()) theirs.insert(k);
    CHECK(ours == theirs);
    // Newest first, one page of two, more after it.
    REQUIRE(answer["order"].size() == 2);
    CHECK(answer["posts"][answer["order"][0].get<std::string>()]["message"] == "note 2");
    CHECK(answer["posts"][answer["order"][1].get<std::string>()]["message"] == "note 1");
    CHECK(answer["has_next"] == true);
}

TEST_CASE(
    "mattermost outbox: a post the server took although its answer was lost is found by its "
    "marker on the retry, and appears once") {
    LogCapture log;
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        const int reads_before = recent_posts_reads(*h.fake);

        // The next post is made, but a proxy answers 504: the bot never sees the answer.
        h.fake->lost_answers["POST posts"] = 1;
        co_await h.fake->run_command(channel, h.alice(), "update rolling back the deploy");
        REQUIRE(co_await h.idle());
        REQUIRE(h.fake->lost_calls == 1);

        // Every destination has the update once, and nothing was posted twice: the retry
        // read the channel's recent posts, found the marker and stopped there.
        const auto posted = posts_by_channel(h, "rolling back the deploy");
        REQUIRE_FALSE(posted.empty());  // the announcement (in the channel: the summary)
        for (const auto& [where, n] : posted) {
            CAPTURE(where);
            CHECK(n == 1);
        }
        CHECK(post_calls_with(*h.fake, "rolling back the deploy") == int(posted.size()));
        CHECK(recent_posts_reads(*h.fake) == reads_before + 1);
        CHECK(log.contains("was made by an earlier attempt whose answer was lost"));
        // Each post carries the id of its outbox entry.
        for (const auto& [id, post] : h.fake->posts) {
            if (!bot_post_with(h, post, "rolling back the deploy")) continue;
            const std::string marker = post["props"].value("incident_bot_outbox_id", "");
            REQUIRE_FALSE(marker.empty());
            const auto entry = h.outbox->entry(std::stoll(marker));
            REQUIRE(entry);
            CHECK(entry->status == OutboxStatus::delivered);
        }
        CHECK(h.outbox->counts().failed_total() == 0);
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost outbox: a post whose answer was lost before a restart is found by its marker "
    "after it, and appears once") {
    MattermostHarness h;
    h.adapter->start();
    std::unique_ptr<mattermost::MattermostAdapter> first;
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());

        // The post is made and its answer lost; this process cannot read the channel back
        // (500s), so it neither finds the post nor posts it again before it stops.
        h.fake->lost_answers["POST posts"] = 1;
        h.fake->server_errors["GET channels"] = 1'000'000;
        co_await h.fake->run_command(channel, h.alice(), "update rolling back the deploy");
        REQUIRE(co_await wait_until(
            [&] {
                const auto pending = h.outbox->pending("mattermost");
                return !pending.empty() && pending.front().kind == "post" &&
                       pending.front().attempts >= 2;
            },
            milliseconds(8000)));
        REQUIRE(h.fake->lost_calls == 1);
        CHECK(post_calls_with(*h.fake, "rolling back the deploy") == 1);
        first = std::move(h.adapter);
        first->stop();
        REQUIRE(co_await wait_until([&] { return !first->delivering(); }, milliseconds(5000)));

        // Another process on the same database: it knows from the entry that the call may
        // have gone out, looks, and finds it.
        h.fake->server_errors.clear();
        h.adapter = h.make_adapter();
        h.adapter->start();
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        REQUIRE(co_await h.idle());
        const auto posted = posts_by_channel(h, "rolling back the deploy");
        REQUIRE_FALSE(posted.empty());  // the announcement (in the channel: the summary)
        for (const auto& [where, n] : posted) {
            CAPTURE(where);
            CHECK(n == 1);
        }
        CHECK(post_calls_with(*h.fake, "rolling back the deploy") == int(posted.size()));
        CHECK(h.outbox->pending("mattermost").empty());
        CHECK(h.outbox->counts().failed_total() == 0);
    });
    CHECK(finished);
}

TEST_CASE(
    "mattermost outbox: a channel header whose topic change was lost is set again by the "
    "reconciliation") {
    MattermostHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await h.ready());
        const std::string channel = co_await h.declare();
        REQUIRE_FALSE(channel.empty());
        REQUIRE(h.fake->channels.at(channel).header.find("SEV2") != std::string::npos);
        CHECK(requeue_stale_topics(*h.service, h.store, *h.outbox) == 0);

        // The severity changes, and the header change is lost: refused, then gone from the
        // outbox altogether (as an effect kept in memory by an older version).
        h.fake->forbidden["PUT channels"] = 1;
        co_await h.fake->run_command(channel, h.alice(), "sev 1");
        REQUIRE(
            co_await wait_until([&] { return !h.outbox->failed().empty(); }, milliseconds(8000)));
        for (auto entry : h.outbox->failed()) {
            REQUIRE(entry.kind == "topic");
            entry.status = OutboxStatus::delivered;
            entry.done_at = 1;
            h.outbox->save(entry);
        }
        REQUIRE(h.store.prune_outbox(2, 100) == 1);
        REQUIRE(co_await h.idle());
        CHECK(h.fake->channels.at(channel).header.find("SEV2") != std::string::npos);

        CHECK(requeue_stale_topics(*h.service, h.store, *h.outbox) == 1);
        REQUIRE(co_await h.idle());
        CHECK(h.fake->channels.at(channel).header.find("SEV1") != std::string::npos);
        // Delivered, it is what the channel shows: nothing more to do.
        CHECK(requeue_stale_topics(*h.service, h.store, *h.outbox) == 0);
    });
    CHECK(finished);
}
