#include <doctest/doctest.h>

#include "bot/export_json.hpp"
#include "bot/postmortem.hpp"
#include "bot/text.hpp"
#include "harness.hpp"

using namespace incident;
using namespace incident::testing;
using net::testing::run_async;
using net::testing::wait_until;
using nlohmann::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

std::string repeat(std::string_view piece, std::size_t times) {
    std::string out;
    out.reserve(piece.size() * times);
    for (std::size_t i = 0; i < times; ++i) out += piece;
    return out;
}

}  // namespace

TEST_CASE("slack: a 150 KB message is stored whole, the post-mortem clips only what it shows") {
    SlackHarness h;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        const std::string channel = co_await h.declare();
        // 37,500 four-byte characters: 150,000 bytes, within Slack's 40,000 characters.
        const std::string text = "stack trace: " + repeat("🔥", 37'500);
        REQUIRE(text.size() > 150'000);
        h.fake->deliver(
            events_envelope("EvLong", message_event(channel, "U2", "1800000001.000100", text)));
        REQUIRE(co_await h.acked("env-EvLong"));

        std::string stored;
        for (const auto& e : h.service.timeline(1)) {
            if (e.message_id == "1800000001.000100") stored = e.text;
        }
        CHECK(stored.size() == text.size());
        CHECK(stored == text);

        const IncidentSnapshot snap = h.service.snapshot(1);
        const std::string md = render_postmortem(snap);
        const std::size_t characters = 13 + 37'500;
        CHECK(md.find("… (" + std::to_string(characters - k_display_chars) +
                      " more characters, see the JSON export)") != std::string::npos);
        CHECK(md.find(text) == std::string::npos);
        CHECK(md.size() < 60'000);
        CHECK(to_json(snap).dump().find(text) != std::string::npos);
        h.adapter->stop();
    });
    CHECK(finished);
}

TEST_CASE(
    "slack: a batch whose commit fails sends no email or webhook, its redelivery does, once") {
    SlackHarness h;
    std::vector<Notify> notified;
    h.service.add_effect_listener([&](const Effect& effect) {
        if (const auto* n = std::get_if<Notify>(&effect)) notified.push_back(*n);
    });
    h.failing.failing_commits = 1;
    h.adapter->start();
    const bool finished = run_async(h.io, [&]() -> asio::awaitable<void> {
        REQUIRE(
            co_await wait_until([&] { return h.adapter->socket_connected(); }, milliseconds(5000)));
        // The first delivery is handled, its commit fails, so it is not acked; Slack
        // delivers it again and that one commits.
        co_await h.declare();
        CHECK(h.failing.failed_commits == 1);
        REQUIRE(notified.size() == 1);
        CHECK(notified[0].kind == NotifyKind::declared);
        CHECK(notified[0].key == "INC-1");
        CHECK(h.service.list(true).size() == 1);
        // One channel: the rolled-back attempt created none (name_taken, then -2).
        int incident_creates = 0;
        for (const auto& call : h.fake->calls_of("conversations.create")) {
            incident_creates += call.args.value("name", "").starts_with("inc-1-");
        }
        CHECK(incident_creates == 2);
        CHECK(h.fake->count("conversations.invite") == 1);
        h.adapter->stop();
    });
    CHECK(finished);
}
