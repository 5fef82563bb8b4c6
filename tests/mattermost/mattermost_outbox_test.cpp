#include <doctest/doctest.h>

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
