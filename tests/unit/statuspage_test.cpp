#include <doctest/doctest.h>

#include "bot/export_json.hpp"
#include "bot/postmortem.hpp"
#include "bot/status_page.hpp"
#include "fixture.hpp"

// /incident statuspage and /incident component: who may publish, what is refused, and that a
// refusal changes nothing.
using namespace incident;
using incident::testing::Bot;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::size_t external_entries(Bot& bot) {
    std::size_t n = 0;
    for (const auto& e : bot.service.timeline(1)) n += e.kind == EntryKind::external;
    return n;
}

}  // namespace

TEST_CASE("the commander publishes a message, which is on the timeline and the page") {
    Bot bot;
    const std::string channel = bot.declare();
    const Outcome out =
        bot.command("statuspage We are investigating failed card payments.", "alice", channel);
    REQUIRE_MESSAGE(out.reply.ok, out.reply.text);
    CHECK(out.reply.visibility == Reply::Visibility::in_channel);
    CHECK(contains(out.reply.text, "https://bot.example.com/status"));
    const auto published = bot.service.status_messages(1);
    REQUIRE(published.size() == 1);
    CHECK(published[0].text == "We are investigating failed card payments.");
    CHECK(published[0].state == PublicState::investigating);
    CHECK(published[0].by.name == "alice");
    CHECK(external_entries(bot) == 1);
    bool on_timeline = false;
    for (const auto& e : bot.service.timeline(1)) {
        on_timeline |= e.kind == EntryKind::external && e.key_event &&
                       contains(e.text, "We are investigating failed card payments.");
    }
    CHECK(on_timeline);

    bot.clock.advance(60'000);
    REQUIRE(bot.command("statuspage state identified A fix is being deployed.", "alice", channel)
                .reply.ok);
    bot.clock.advance(60'000);
    REQUIRE(bot.command("statuspage The fix is rolling out.", "alice", channel).reply.ok);
    const auto later = bot.service.status_messages(1);
    REQUIRE(later.size() == 3);
    CHECK(later[1].state == PublicState::identified);
    CHECK(later[2].state == PublicState::identified);  // a message keeps the state

    const PublicStatus page = public_status(bot.service, bot.clock.now());
    REQUIRE(page.current.size() == 1);
    CHECK(page.current[0].state == PublicState::identified);
    CHECK(page.current[0].updates.front().text == "The fix is rolling out.");
    CHECK(page.past.empty());
}

TEST_CASE("comms and liaison may publish, anyone else is told who can") {
    Bot bot;
    const std::string channel = bot.declare();
    REQUIRE(bot.command("role comms @carol", "alice", channel).reply.ok);
    const Outcome refused = bot.command("statuspage Everything is fine", "bob", channel);
    CHECK_FALSE(refused.reply.ok);
    CHECK(contains(refused.reply.text, "commander, comms and liaison"));
    CHECK(contains(refused.reply.text, "@alice (commander)"));
    CHECK(contains(refused.reply.text, "@carol (comms)"));
    CHECK(bot.service.status_messages(1).empty());
    CHECK(external_entries(bot) == 0);
    const Outcome component = bot.command("component API major-outage", "bob", channel);
    CHECK_FALSE(component.reply.ok);
    CHECK(contains(component.reply.text, "@carol (comms)"));
    CHECK(bot.service.components()[0].status == ComponentStatus::operational);

    CHECK(bot.command("statuspage From comms", "carol", channel).reply.ok);
    REQUIRE(bot.command("role liaison @dave", "alice", channel).reply.ok);
    CHECK(bot.command("statuspage From the liaison", "dave", channel).reply.ok);
    CHECK(bot.service.status_messages(1).size() == 2);
    // A scribe is not a publisher.
    REQUIRE(bot.command("role scribe @erin", "alice", channel).reply.ok);
    CHECK_FALSE(bot.command("statuspage From the scribe", "erin", channel).reply.ok);
    CHECK(bot.service.status_messages(1).size() == 2);
}

TEST_CASE("bad states, statuses and components are refused and change nothing") {
    Bot bot;
    const std::string channel = bot.declare();
    const auto refused = [&](const std::string& command, const std::string& says) {
        const Outcome out = bot.command(command, "alice", channel);
        CHECK_FALSE(out.reply.ok);
        CHECK_MESSAGE(contains(out.reply.text, says), out.reply.text);
    };
    refused("statuspage", "Write the message");
    refused("statuspage state", "Which state?");
    refused("statuspage state fixed", "`fixed` is not a status page state");
    refused("statuspage state closed", "`closed` is not a status page state");
    refused("statuspage state investigating", "Write the message");
    refused("component API", "Which component");
    refused("component API broken", "`broken` is not a component status");
    refused("component Database degraded", "`Database` is not a component of the status page");
    refused("component Database degraded", "API, Web app, Payments");
    CHECK(bot.service.status_messages(1).empty());
    CHECK(external_entries(bot) == 0);
    for (const auto& c : bot.service.components()) {
        CHECK(c.status == ComponentStatus::operational);
        CHECK(c.at == 0);
    }

    REQUIRE(bot.command("statuspage state monitoring", "alice", channel).reply.ok);
    refused("statuspage state monitoring", "already says Monitoring");
    CHECK(bot.service.status_messages(1).size() == 1);
}

TEST_CASE("a component takes a status by any case of its name, with spaces") {
    Bot bot;
    const std::string channel = bot.declare();
    const Outcome out = bot.command("component web APP partial-outage", "alice", channel);
    REQUIRE_MESSAGE(out.reply.ok, out.reply.text);
    CHECK(contains(out.reply.text, "Web app is now partial outage"));
    const auto components = bot.service.components();
    REQUIRE(components.size() == 3);
    CHECK(components[0].name == "API");
    CHECK(components[0].status == ComponentStatus::operational);
    CHECK(components[1].name == "Web app");
    CHECK(components[1].status == ComponentStatus::partial_outage);
    CHECK(components[1].incident == 1);
    CHECK(external_entries(bot) == 1);
    CHECK_FALSE(bot.command("component Web app partial-outage", "alice", channel).reply.ok);
    CHECK(external_entries(bot) == 1);
    CHECK(bot.command("component Web app operational", "alice", channel).reply.ok);
    CHECK(bot.service.components()[1].status == ComponentStatus::operational);
}

TEST_CASE("the public page shows only incidents with a published message, 90 days back") {
    Bot bot;
    const std::string first = bot.declare("Secret title one");
    REQUIRE(bot.command("update internal words", "alice", first).reply.ok);
    bot.clock.advance(1000);
    const std::string second = bot.declare("Secret title two", "bob");
    // A state change alone does not make an incident public.
    REQUIRE(bot.command("statuspage state identified", "bob", second).reply.ok);
    PublicStatus page = public_status(bot.service, bot.clock.now());
    CHECK(page.current.empty());
    CHECK(page.past.empty());

    REQUIRE(bot.command("statuspage Payments are slow.", "bob", second).reply.ok);
    REQUIRE(bot.command("statuspage state resolved Payments work again.", "bob", second).reply.ok);
    page = public_status(bot.service, bot.clock.now());
    CHECK(page.current.empty());
    REQUIRE(page.past.size() == 1);
    CHECK(page.past[0].updates.size() == 3);
    CHECK(page.past[0].state == PublicState::resolved);

    bot.clock.advance(Timestamp(91) * 86'400'000);
    page = public_status(bot.service, bot.clock.now());
    CHECK(page.past.empty());
}

TEST_CASE("the post-mortem's follow-up lists the external messages with their times") {
    Bot bot;
    const std::string channel = bot.declare();
    REQUIRE(bot.command("statuspage Card payments fail for some customers.", "alice", channel)
                .reply.ok);
    bot.clock.advance(90'000);
    REQUIRE(bot.command("statuspage state resolved", "alice", channel).reply.ok);
    const std::string md = render_postmortem(bot.service.snapshot(1));
    const auto follow_up = md.find("## Follow-up");
    const auto appendix = md.find("## Appendix");
    REQUIRE(follow_up != std::string::npos);
    const std::string section = md.substr(follow_up, appendix - follow_up);
    CHECK(contains(section, "- External messages (status page):"));
    CHECK(contains(section,
                   "  - `2026-11-23T10:00:00Z` **Investigating**: Card payments fail for some "
                   "customers."));
    CHECK(contains(section, "  - `2026-11-23T10:01:30Z` **Resolved** (state changed)"));
}

TEST_CASE("the JSON export lists what was published, with who published it") {
    Bot bot;
    const std::string channel = bot.declare();
    CHECK(to_json(bot.service.snapshot(1))["status_messages"].empty());
    REQUIRE(
        bot.command("statuspage We are looking into slow payments.", "alice", channel).reply.ok);
    const auto j = to_json(bot.service.snapshot(1));
    REQUIRE(j["status_messages"].size() == 1);
    CHECK(j["status_messages"][0]["state"] == "investigating");
    CHECK(j["status_messages"][0]["text"] == "We are looking into slow payments.");
    CHECK(j["status_messages"][0]["by"]["name"] == "alice");
    CHECK(j["status_messages"][0]["at"] == "2026-11-23T10:00:00Z");
}
