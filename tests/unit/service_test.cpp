#include <doctest/doctest.h>

#include "fixture.hpp"

using namespace incident;
using incident::testing::Bot;

namespace {

const TimelineEntry* find_message(const std::vector<TimelineEntry>& timeline,
                                  const std::string& message_id) {
    for (const auto& e : timeline) {
        if (e.message_id == message_id) return &e;
    }
    return nullptr;
}

std::size_t count_kind(const std::vector<TimelineEntry>& timeline, EntryKind kind) {
    std::size_t n = 0;
    for (const auto& e : timeline) n += e.kind == kind;
    return n;
}

}  // namespace

TEST_CASE("declare creates the incident, its channel, the commander and announcements") {
    Bot bot;
    const Outcome out = bot.command("declare sev1 Payments failing");
    REQUIRE(out.reply.ok);
    CHECK(out.reply.visibility == Reply::Visibility::in_channel);
    const Incident inc = bot.service.require(1);
    CHECK(inc.title == "Payments failing");
    CHECK(inc.severity == Severity::sev1);
    CHECK(inc.state == State::investigating);
    CHECK(inc.channel_name == "inc-1-payments-failing");
    CHECK(inc.channel_id == "C1");
    const auto roles = bot.service.roles(1);
    REQUIRE(roles.size() == 1);
    CHECK(roles[0].role == Role::commander);
    CHECK(roles[0].person.name == "alice");
    bool created = false, announced = false;
    for (const auto& e : out.effects) {
        if (const auto* c = std::get_if<CreateChannel>(&e)) {
            created = c->name == "inc-1-payments-failing" && c->invite.size() == 1;
        }
        if (const auto* p = std::get_if<PostMessage>(&e)) {
            announced |=
                std::holds_alternative<ToAnnouncements>(p->to) &&
                p->text.find("https://bot.example.com/incidents/INC-1") != std::string::npos;
        }
    }
    CHECK(created);
    CHECK(announced);
    CHECK(bot.command("declare Second one").reply.ok);
    CHECK(bot.service.require(2).severity == Severity::sev3);  // default
}

TEST_CASE("a resubmitted declare never creates a second incident") {
    Bot bot;
    CommandRequest request{"trigger-1",
                           "test",
                           "general",
                           "general",
                           Actor{"U1", "alice"},
                           "declare sev2 Login broken",
                           bot.clock.now()};
    const Outcome first = bot.run(request);
    const Outcome again = bot.run(request);
    CHECK(first.reply.ok);
    CHECK(again.duplicate);
    CHECK(again.reply.text == first.reply.text);
    CHECK(again.effects.empty());
    // A double click is a new request id, same person and title, moments later.
    bot.clock.advance(2000);
    request.request_id = "trigger-2";
    request.at = bot.clock.now();
    const Outcome click = bot.run(request);
    CHECK(click.reply.text.find("already declared INC-1") != std::string::npos);
    CHECK(bot.service.list(true).size() == 1);
}

TEST_CASE("a full lifecycle is stamped, attributed and on the timeline") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.clock.advance(60'000);
    CHECK(bot.command("status identified", "bob", ch).reply.ok);
    bot.clock.advance(60'000);
    CHECK(bot.command("status monitoring", "bob", ch).reply.ok);
    bot.clock.advance(60'000);
    const Outcome resolved = bot.command("resolve Rolled back the deploy", "alice", ch);
    CHECK(resolved.reply.ok);
    CHECK(resolved.reply.text.find("final severity") != std::string::npos);
    CHECK(bot.command("sev 3", "alice", ch).reply.ok);
    Incident inc = bot.service.require(1);
    CHECK(inc.identified_at == testing::k_start + 60'000);
    CHECK(inc.mitigated_at == testing::k_start + 120'000);
    CHECK(inc.resolved_at == testing::k_start + 180'000);
    CHECK(inc.final_severity == Severity::sev3);
    CHECK(inc.severity == Severity::sev2);
    CHECK(inc.summary == "Rolled back the deploy");
    const auto timeline = bot.service.timeline(1);
    CHECK(count_kind(timeline, EntryKind::state) == 3);
    for (const auto& e : timeline) {
        if (e.kind == EntryKind::state) CHECK(e.key_event);
    }
    CHECK(bot.command("close", "alice", ch).reply.text.find("Publish the post-mortem") !=
          std::string::npos);
    CHECK(bot.command("postmortem owner @carol due 2026-12-01 publish", "alice", ch).reply.ok);
    CHECK(bot.command("close", "alice", ch).reply.ok);
    inc = bot.service.require(1);
    CHECK(inc.state == State::closed);
    CHECK(inc.postmortem_owner == "@carol");
    CHECK(bot.command("reopen", "alice", ch).reply.text.find("closed") != std::string::npos);
}

TEST_CASE("resolve with a final severity, reopen, and forced close with a reason") {
    Bot bot;
    const std::string ch = bot.declare();
    CHECK(bot.command("resolve sev4 false alarm", "alice", ch).reply.ok);
    CHECK(bot.service.require(1).final_severity == Severity::sev4);
    CHECK(bot.command("reopen", "alice", ch).reply.ok);
    CHECK(bot.service.require(1).state == State::investigating);
    CHECK_FALSE(bot.service.require(1).resolved_at);
    CHECK(bot.command("status resolved", "alice", ch).reply.ok);
    CHECK_FALSE(bot.command("close force", "alice", ch).reply.ok);
    CHECK(bot.command("close force duplicate of a vendor outage", "alice", ch).reply.ok);
    const auto timeline = bot.service.timeline(1);
    bool reason = false;
    for (const auto& e : timeline) {
        reason |= e.text.find("duplicate of a vendor outage") != std::string::npos;
    }
    CHECK(reason);
}

TEST_CASE("chatter becomes the timeline, bot and empty messages do not") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.say(ch, "m1", "db latency is up");
    MessagePosted from_bot{bot.header(ch), "m2", "", Actor{"B1", "somebot"}, "beep", true};
    bot.event(from_bot);
    bot.say(ch, "m3", "   ");
    bot.say("elsewhere", "m4", "not in an incident channel");
    const auto timeline = bot.service.timeline(1);
    CHECK(count_kind(timeline, EntryKind::message) == 1);
    const auto* m1 = find_message(timeline, "m1");
    REQUIRE(m1);
    CHECK(m1->author.name == "bob");
    CHECK(m1->text == "db latency is up");
    CHECK_FALSE(m1->key_event);
}

TEST_CASE("a repeated event id or message id is stored once") {
    Bot bot;
    const std::string ch = bot.declare();
    CHECK_FALSE(bot.say(ch, "m1", "TODO: page the DBA", "bob", "Ev1").duplicate);
    CHECK(bot.say(ch, "m1", "TODO: page the DBA", "bob", "Ev1").duplicate);
    bot.say(ch, "m1", "TODO: page the DBA", "bob", "Ev1-other-delivery");
    CHECK(count_kind(bot.service.timeline(1), EntryKind::message) == 1);
    CHECK(bot.service.actions(1).size() == 1);
}

TEST_CASE("edits update the entry and keep every earlier text, deletions mark it") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.say(ch, "m1", "restart the cahce");
    bot.clock.advance(1000);
    bot.event(MessageEdited{bot.header(ch), "m1", "restart the cache"});
    bot.clock.advance(1000);
    bot.event(MessageEdited{bot.header(ch), "m1", "restart the cache cluster"});
    auto entry = *find_message(bot.service.timeline(1), "m1");
    CHECK(entry.text == "restart the cache cluster");
    CHECK(entry.previous_texts ==
          std::vector<std::string>{"restart the cahce", "restart the cache"});
    CHECK(entry.edited_at == testing::k_start + 2000);
    bot.event(MessageDeleted{bot.header(ch), "m1"});
    entry = *find_message(bot.service.timeline(1), "m1");
    CHECK(entry.deleted_at);
    CHECK(entry.text == "restart the cache cluster");  // nothing is lost
    // Edits of unknown messages and in other channels change nothing.
    CHECK_FALSE(bot.event(MessageEdited{bot.header(ch), "nope", "x"}).duplicate);
    CHECK(bot.service.timeline(1).size() == 3);  // declared, role, m1
}

TEST_CASE("pushpin marks and unmarks a key event") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.say(ch, "m1", "found it: bad config push at 10:02");
    bot.event(ReactionChanged{bot.header(ch), "m1", "pushpin", Actor{"U2", "bob"}, true});
    CHECK(find_message(bot.service.timeline(1), "m1")->key_event);
    bot.event(ReactionChanged{bot.header(ch), "m1", "thumbsup", Actor{"U2", "bob"}, false});
    CHECK(find_message(bot.service.timeline(1), "m1")->key_event);
    bot.event(ReactionChanged{bot.header(ch), "m1", "pushpin", Actor{"U2", "bob"}, false});
    CHECK_FALSE(find_message(bot.service.timeline(1), "m1")->key_event);
}

TEST_CASE("TODO lines, /incident todo and memo reactions create action items") {
    Bot bot;
    const std::string ch = bot.declare();
    const Outcome said =
        bot.say(ch, "m1", "we should TODO this\nTODO: @carol add queue alert due:2026-12-01");
    bool confirmed = false;
    for (const auto& e : said.effects) {
        if (const auto* p = std::get_if<PostMessage>(&e)) {
            confirmed = std::holds_alternative<ToIncident>(p->to) &&
                        p->text.find("Action item 1 recorded") != std::string::npos;
        }
    }
    CHECK(confirmed);
    CHECK(bot.command("todo write the runbook @dave due:2026-12-10", "alice", ch).reply.ok);
    bot.say(ch, "m2", "we need a canary stage");
    bot.event(ReactionChanged{bot.header(ch), "m2", "memo", Actor{"U3", "erin"}, true});
    bot.event(ReactionChanged{bot.header(ch), "m2", "memo", Actor{"U3", "erin"}, true});
    const auto items = bot.service.actions(1);
    REQUIRE(items.size() == 3);
    CHECK(items[0].text == "@carol add queue alert");
    CHECK(items[0].owner == "@carol");
    CHECK(items[0].due == "2026-12-01");
    CHECK(items[0].source == ActionSource::todo_line);
    CHECK(items[0].author.name == "bob");
    CHECK(items[1].owner == "@dave");
    CHECK(items[1].source == ActionSource::command);
    CHECK(items[2].text == "we need a canary stage");
    CHECK(items[2].source == ActionSource::reaction);
    CHECK(items[2].author.name == "erin");
    CHECK(bot.command("done 2", "alice", ch).reply.ok);
    CHECK(bot.service.actions(1)[1].status == ActionStatus::done);
    CHECK_FALSE(bot.command("done 2", "alice", ch).reply.ok);
    bot.event(ReactionChanged{bot.header(ch), "m2", "memo", Actor{"U3", "erin"}, false});
    CHECK(bot.service.actions(1)[2].status == ActionStatus::cancelled);
}

TEST_CASE("editing a TODO line updates its item, deleting it withdraws the item") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.say(ch, "m1", "TODO: add alert");
    bot.event(MessageEdited{bot.header(ch), "m1", "TODO: add alert on p99 @carol\nTODO: fix docs"});
    auto items = bot.service.actions(1);
    REQUIRE(items.size() == 2);
    CHECK(items[0].text == "add alert on p99 @carol");
    CHECK(items[0].owner == "@carol");
    CHECK(items[1].text == "fix docs");
    bot.event(MessageDeleted{bot.header(ch), "m1"});
    items = bot.service.actions(1);
    CHECK(items[0].status == ActionStatus::cancelled);
    CHECK(items[1].status == ActionStatus::cancelled);
}

TEST_CASE("invalid UTF-8 chatter is refused and nothing is recorded") {
    Bot bot;
    const std::string ch = bot.declare();
    const Outcome out = bot.say(ch, "m1", "bad \xFF byte");
    CHECK_FALSE(out.reply.ok);
    CHECK(out.reply.text.find("UTF-8") != std::string::npos);
    CHECK(count_kind(bot.service.timeline(1), EntryKind::message) == 0);
}

TEST_CASE("roles: single holders are replaced, SMEs accumulate, the topic follows the IC") {
    Bot bot;
    const std::string ch = bot.declare();
    CHECK(bot.command("role scribe @bob", "alice", ch).reply.ok);
    CHECK(bot.command("role scribe @carol", "alice", ch).reply.ok);
    CHECK(bot.command("role sme @dave", "alice", ch).reply.ok);
    CHECK(bot.command("role sme", "erin", ch).reply.ok);
    const Outcome out = bot.command("role ic @frank", "alice", ch);
    bool topic = false;
    for (const auto& e : out.effects) {
        if (const auto* t = std::get_if<SetTopic>(&e))
            topic = t->topic.find("IC @frank") != std::string::npos;
    }
    CHECK(topic);
    int scribes = 0, smes = 0;
    for (const auto& r : bot.service.roles(1)) {
        scribes += r.role == Role::scribe;
        smes += r.role == Role::sme;
        if (r.role == Role::scribe) CHECK(r.person.name == "carol");
    }
    CHECK(scribes == 1);
    CHECK(smes == 2);
}

TEST_CASE("updates reach the announcement channel and subscribers") {
    Bot bot;
    CHECK(bot.command("subscribe sev2", "sam").reply.ok);
    CHECK(bot.command("subscribe all", "una").reply.ok);
    const std::string ch = bot.declare("Minor glitch");  // SEV2
    CHECK(bot.command("sev 4", "alice", ch).reply.ok);
    const Outcome out = bot.command("update rolling back now", "alice", ch);
    std::vector<std::string> dms;
    bool announced = false;
    for (const auto& e : out.effects) {
        const auto* p = std::get_if<PostMessage>(&e);
        if (!p) continue;
        if (const auto* u = std::get_if<ToUser>(&p->to)) dms.push_back(u->who.name);
        announced |= std::holds_alternative<ToAnnouncements>(p->to) &&
                     p->text.find("rolling back now") != std::string::npos;
    }
    CHECK(announced);
    CHECK(dms == std::vector<std::string>{"una"});  // SEV4 is below sam's threshold
    CHECK(bot.service.require(1).last_update_at == bot.clock.now());
    CHECK(bot.command("unsubscribe all", "una").reply.ok);
    CHECK(bot.command("unsubscribe all", "una").reply.text.find("were not subscribed") !=
          std::string::npos);
}

TEST_CASE("merge groups an incident under its primary") {
    Bot bot;
    bot.declare("Primary outage");
    const std::string second = bot.declare("Same thing, other team");
    bot.say(second, "m1", "TODO: check the other region");
    CHECK(bot.command("merge INC-1", "alice", second).reply.ok);
    const IncidentSnapshot snap = bot.service.snapshot(1);
    REQUIRE(snap.merged.size() == 1);
    CHECK(snap.merged[0].incident.number == 2);
    CHECK(snap.merged[0].actions.size() == 1);
    CHECK(bot.command("status identified", "alice", second).reply.text.find("merged") !=
          std::string::npos);
    CHECK_FALSE(bot.command("merge INC-2", "alice", "C1").reply.ok);  // into a merged one
}

TEST_CASE("stats count by severity and measure response times") {
    Bot bot;
    const std::string a = bot.declare("A");
    bot.clock.advance(10 * 60'000);
    bot.command("status identified", "alice", a);
    bot.clock.advance(20 * 60'000);
    bot.command("resolve sev1", "alice", a);
    const std::string b = bot.declare("B");
    bot.clock.advance(30 * 60'000);
    bot.command("resolve", "alice", b);
    bot.command("todo follow up", "alice", b);
    const Stats s = bot.service.stats(std::nullopt);
    CHECK(s.total == 2);
    CHECK(s.open == 0);
    CHECK(s.by_severity[0] == 1);
    CHECK(s.by_severity[1] == 1);
    CHECK(s.mean_to_identify == 10 * 60'000);
    CHECK(s.mean_to_resolve == 30 * 60'000);
    CHECK(s.median_to_resolve == 30 * 60'000);
    CHECK(s.open_actions == 1);
    const Outcome out = bot.command("stats 7");
    CHECK(out.reply.text.find("SEV1: 1") != std::string::npos);
}

TEST_CASE("contributing factors are recorded by category, refused when malformed") {
    Bot bot;
    const std::string channel = bot.declare("Checkout is down");
    const Outcome ok =
        bot.command("factor process runbook pointed at the old cluster", "bob", channel);
    REQUIRE_MESSAGE(ok.reply.ok, ok.reply.text);
    CHECK(ok.reply.text.find("(process gaps): runbook pointed at the old cluster") !=
          std::string::npos);
    CHECK(bot.command("factor alerting paging went to an empty rota", "bob", channel).reply.ok);

    for (const std::string bad : {"factor", "factor people blamed bob", "factor technical",
                                  "factor technical   ", "factor technical \xff\xfe"}) {
        CAPTURE(bad);
        const Outcome out = bot.command(bad, "bob", channel);
        CHECK_FALSE(out.reply.ok);
        CHECK(bot.service.factors(1).size() == 2);
    }
    CHECK(bot.command("factor people x", "bob", channel).reply.text.find("not a category") !=
          std::string::npos);

    const auto factors = bot.service.factors(1);
    REQUIRE(factors.size() == 2);
    CHECK(factors[0].category == FactorCategory::process);
    CHECK(factors[0].author.name == "bob");
    CHECK(factors[1].category == FactorCategory::monitoring);
    const Outcome listed = bot.command("factors", "alice", channel);
    CHECK(listed.reply.text.find("[monitoring] paging went to an empty rota — @bob") !=
          std::string::npos);
}

TEST_CASE("stats name the contributing factor categories that recur across incidents") {
    Bot bot;
    const std::string a = bot.declare("A");
    bot.command("factor process no runbook", "alice", a);
    bot.command("factor technical disk full", "alice", a);
    bot.command("factor process paging delay", "alice", a);
    const std::string b = bot.declare("B");
    bot.command("factor process handover gap", "alice", b);
    // A merged incident's factors count with its primary, not as an incident of their own.
    const std::string c = bot.declare("C");
    bot.command("factor monitoring no alert on queue depth", "alice", c);
    bot.command("factor process again no runbook", "alice", c);
    REQUIRE(bot.command("merge INC-2", "alice", c).reply.ok);

    const Stats s = bot.service.stats(std::nullopt);
    REQUIRE(s.factor_categories.size() == 3);
    CHECK(s.factor_categories[0].category == FactorCategory::process);
    CHECK(s.factor_categories[0].incidents == 2);  // INC-1 and INC-2 (with INC-3 merged)
    CHECK(s.factor_categories[0].factors == 4);
    CHECK(s.factor_categories[1].incidents == 1);
    CHECK(s.factor_categories[2].incidents == 1);

    const Outcome out = bot.command("stats");
    CHECK(out.reply.text.find("Contributing factors by category: process gaps in 2 incidents "
                              "(4 factors)") != std::string::npos);

    // Outside the window nothing is counted.
    bot.clock.advance(10LL * 86'400'000);
    CHECK(bot.service.stats(7).factor_categories.empty());
    CHECK(bot.command("stats 7").reply.text.find("none recorded") != std::string::npos);
}
