#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "bot/outbox.hpp"
#include "fixture.hpp"

using namespace incident;
using incident::testing::Bot;

namespace {

std::vector<Notify> notifications(const Outcome& out) {
    std::vector<Notify> found;
    for (const auto& e : out.effects) {
        if (const auto* n = std::get_if<Notify>(&e)) found.push_back(*n);
    }
    return found;
}

}  // namespace

TEST_CASE("every announcement comes with a Notify for the non-chat sinks") {
    Bot bot;
    Outcome out = bot.command("declare sev2 Checkout returns 502s");
    auto found = notifications(out);
    REQUIRE(found.size() == 1);
    const Notify& declared = found[0];
    CHECK(declared.kind == NotifyKind::declared);
    CHECK(declared.number == 1);
    CHECK(declared.key == "INC-1");
    CHECK(declared.title == "Checkout returns 502s");
    CHECK(declared.severity == Severity::sev2);
    CHECK(declared.state == State::investigating);
    CHECK(declared.platform == "test");
    CHECK(declared.channel_name == "inc-1-checkout-returns-502s");
    CHECK(declared.by == Actor{"U-alice", "alice"});
    CHECK(declared.text == "declared by @alice");
    CHECK(declared.link == "https://bot.example.com/incidents/INC-1");
    CHECK(declared.at == bot.clock.now());

    const std::string ch = "C1";
    const auto kind_of = [&](const std::string& command) {
        bot.clock.advance(1000);
        const auto n = notifications(bot.command(command, "alice", ch));
        REQUIRE_MESSAGE(n.size() == 1, command);
        return n[0];
    };
    CHECK(kind_of("sev 1").kind == NotifyKind::severity);
    const Notify state = kind_of("status identified");
    CHECK(state.kind == NotifyKind::state);
    CHECK(state.state == State::identified);
    const Notify update = kind_of("update rolling back");
    CHECK(update.kind == NotifyKind::update);
    CHECK(update.text == "update from @alice: rolling back");
    const Notify resolved = kind_of("resolve sev2 bad deploy");
    CHECK(resolved.kind == NotifyKind::resolved);
    CHECK(resolved.state == State::resolved);
    CHECK(resolved.severity == Severity::sev1);
    CHECK(resolved.final_severity == Severity::sev2);
    CHECK(kind_of("reopen").kind == NotifyKind::state);
    CHECK(kind_of("resolve").kind == NotifyKind::resolved);
    CHECK(kind_of("postmortem publish").kind == NotifyKind::postmortem_published);
    CHECK(kind_of("close").kind == NotifyKind::closed);

    bot.declare("Other");
    bot.declare("Third");
    const auto merged = notifications(bot.command("merge INC-2", "alice", "C3"));
    REQUIRE(merged.size() == 1);
    CHECK(merged[0].kind == NotifyKind::merged);
    CHECK(merged[0].merged_into == 2);

    // Notes, todos and roles are not stakeholder news.
    CHECK(notifications(bot.command("note found it", "alice", "C2")).empty());
    CHECK(notifications(bot.command("todo fix it", "alice", "C2")).empty());
}

TEST_CASE("effect listeners see every committed effect once, and nothing of a refusal") {
    Bot bot;
    std::vector<NotifyKind> seen;
    int effects = 0;
    bot.service.add_effect_listener([&](const Effect& e) {
        ++effects;
        if (const auto* n = std::get_if<Notify>(&e)) seen.push_back(n->kind);
    });
    CommandRequest request{"same-id",
                           "test",
                           "general",
                           "general",
                           Actor{"U1", "alice"},
                           "declare sev1 Payments failing",
                           bot.clock.now()};
    const Outcome first = bot.run(request);
    CHECK(effects == static_cast<int>(first.effects.size()));
    CHECK(seen == std::vector<NotifyKind>{NotifyKind::declared});
    bot.run(request);  // a redelivery: nothing new
    CHECK(seen.size() == 1);
    CHECK_FALSE(bot.command("status closed", "alice", "C1").reply.ok);
    CHECK_FALSE(bot.command("reopen", "alice", "C1").reply.ok);
    CHECK(seen.size() == 1);
    CHECK(bot.command("update all hands", "alice", "C1").reply.ok);
    CHECK(seen == std::vector<NotifyKind>{NotifyKind::declared, NotifyKind::update});
}

TEST_CASE("notify kinds have stable names") {
    CHECK(to_string(NotifyKind::declared) == "declared");
    CHECK(to_string(NotifyKind::postmortem_published) == "postmortem_published");
    CHECK(to_string(NotifyKind::closed) == "closed");
    CHECK(to_string(NotifyKind::status_page) == "status_page");
    CHECK(to_string(NotifyKind::component) == "component");
}

TEST_CASE("a status page publication is a Notify with its public words, kept through the outbox") {
    Bot bot;
    const std::string channel = bot.declare();
    Outcome out = bot.command("statuspage state identified Card payments fail.", "alice", channel);
    auto found = notifications(out);
    REQUIRE(found.size() == 1);
    CHECK(found[0].kind == NotifyKind::status_page);
    CHECK(found[0].text == "Card payments fail.");
    CHECK(found[0].public_state == PublicState::identified);
    // Not an announcement: the channel was told, customers are told by the status page.
    for (const auto& e : out.effects) {
        const auto* post = std::get_if<PostMessage>(&e);
        CHECK_FALSE((post && std::holds_alternative<ToAnnouncements>(post->to)));
    }
    const auto stored = effect_from_json(effect_to_json(found[0]));
    REQUIRE(stored);
    const Notify& back = std::get<Notify>(*stored);
    CHECK(back.kind == NotifyKind::status_page);
    CHECK(back.public_state == PublicState::identified);
    CHECK(back.text == "Card payments fail.");

    out = bot.command("component payments partial-outage", "alice", channel);
    found = notifications(out);
    REQUIRE(found.size() == 1);
    CHECK(found[0].kind == NotifyKind::component);
    CHECK(found[0].component == "Payments");
    CHECK(found[0].component_status == ComponentStatus::partial_outage);
    const auto component = effect_from_json(effect_to_json(found[0]));
    REQUIRE(component);
    CHECK(std::get<Notify>(*component).component == "Payments");
    CHECK(std::get<Notify>(*component).component_status == ComponentStatus::partial_outage);
}
