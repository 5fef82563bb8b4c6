#include <doctest/doctest.h>

#include <string>

#include "bot/export_json.hpp"
#include "bot/postmortem.hpp"
#include "fixture.hpp"

using namespace incident;
using incident::testing::Bot;

namespace {

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Every write is refused with `message` in its reply, and leaves nothing behind.
void refused(Bot& bot, const std::string& command, const std::string& channel,
             const std::string& message) {
    const auto before = bot.service.revisions(1).size();
    const auto actions = bot.service.actions(1).size();
    const Outcome out = bot.command(command, "carol", channel);
    CAPTURE(command);
    CAPTURE(out.reply.text);
    CHECK_FALSE(out.reply.ok);
    CHECK(has(out.reply.text, message));
    CHECK(out.effects.empty());
    CHECK(bot.service.revisions(1).size() == before);
    CHECK(bot.service.actions(1).size() == actions);
}

}  // namespace

TEST_CASE("each section command fills its part of the draft and the JSON export") {
    Bot bot;
    const std::string ch = bot.declare("Checkout returns 502s");
    const std::string md_before = render_postmortem(bot.service.snapshot(1));
    CHECK(has(md_before, "- **Customers:** *who was affected, how many, what they saw.*"));
    CHECK(has(md_before, "1. Why? *…*"));
    CHECK(has(md_before, "**Root cause:** *…*"));
    CHECK(has(md_before, "- **What went well:** *…*"));
    CHECK(has(md_before, "| Affected services | — |"));
    CHECK(has(md_before, "- Review meeting: *not scheduled*"));

    const auto ok = [&](const std::string& command, const std::string& confirmation) {
        const Outcome out = bot.command(command, "carol", ch);
        CAPTURE(command);
        CAPTURE(out.reply.text);
        CHECK(out.reply.ok);
        CHECK(out.reply.visibility == Reply::Visibility::in_channel);
        CHECK(has(out.reply.text, confirmation));
    };
    ok("summary A config push emptied the upstream pool.", "Summary of INC-1 recorded by @carol");
    ok("impact customers 30% of checkouts failed for 19 minutes", "Impact on customers");
    ok("impact internal support handled 120 tickets", "Impact on internal");
    ok("impact availability checkout degraded, payments up", "Impact on availability");
    ok("why checkout returned 502s", "Why of INC-1 recorded as number 1");
    ok("why the upstream pool was empty", "as number 2");
    ok("why a config push set its size to 0", "as number 3");
    ok("rootcause config pushes are not validated", "Root cause of INC-1 recorded");
    ok("lesson well rollback took 2 minutes", "what went well");
    ok("lesson wrong the alert fired late", "what went wrong");
    ok("lesson lucky it was a quiet hour", "where we got lucky");
    ok("lesson well the runbook was current", "as number 2");
    ok("service checkout", "Affected service of INC-1 recorded as number 1");
    ok("service payments-gateway", "as number 2");
    ok("review 2026-11-30 14:00", "scheduled for 2026-11-30 14:00 UTC");

    const std::string md = render_postmortem(bot.service.snapshot(1));
    CHECK(has(md, "## Summary\n\nA config push emptied the upstream pool.\n"));
    CHECK(has(md, "- **Customers:** 30% of checkouts failed for 19 minutes\n"));
    CHECK(has(md, "- **Internal operations:** support handled 120 tickets\n"));
    CHECK(has(md, "- **Availability:** checkout degraded, payments up\n"));
    CHECK(has(md,
              "1. Why? checkout returned 502s\n2. Why? the upstream pool was empty\n"
              "3. Why? a config push set its size to 0\n4. Why? *…*\n5. Why? *…*\n"));
    CHECK(has(md, "**Root cause:** config pushes are not validated\n"));
    CHECK(has(md,
              "- **What went well:**\n  - rollback took 2 minutes *(@carol)*\n"
              "  - the runbook was current *(@carol)*\n"));
    CHECK(has(md, "- **What went wrong:**\n  - the alert fired late *(@carol)*\n"));
    CHECK(has(md, "- **Where we got lucky:**\n  - it was a quiet hour *(@carol)*\n"));
    CHECK(has(md, "| Affected services | checkout, payments-gateway |"));
    CHECK(has(md, "- Review meeting: 2026-11-30 14:00 UTC"));
    CHECK_FALSE(has(md, "*who was affected"));
    // Section writes are not chatter: nothing new on the timeline or in the channel log.
    CHECK(bot.service.timeline(1).size() == 1 + 1);  // declared, commander

    const auto j = to_json(bot.service.snapshot(1));
    CHECK(j["summary"] == "A config push emptied the upstream pool.");
    CHECK(j["impact"]["customers"] == "30% of checkouts failed for 19 minutes");
    CHECK(j["impact"]["internal"] == "support handled 120 tickets");
    CHECK(j["impact"]["availability"] == "checkout degraded, payments up");
    CHECK(j["whys"] ==
          nlohmann::json::array({"checkout returned 502s", "the upstream pool was empty",
                                 "a config push set its size to 0"}));
    CHECK(j["root_cause"] == "config pushes are not validated");
    CHECK(j["lessons"]["well"].size() == 2);
    CHECK(j["lessons"]["wrong"][0] == "the alert fired late");
    CHECK(j["lessons"]["lucky"][0] == "it was a quiet hour");
    CHECK(j["services"] == nlohmann::json::array({"checkout", "payments-gateway"}));
    CHECK(j["review"]["at"] == "2026-11-30T14:00:00Z");
    CHECK(j["revisions"].size() == 15);
    CHECK(j["revisions"][0]["author"]["name"] == "carol");
}

TEST_CASE("unwritten sections are null or empty in the JSON export") {
    Bot bot;
    bot.declare();
    const auto j = to_json(bot.service.snapshot(1));
    CHECK(j["impact"]["customers"].is_null());
    CHECK(j["whys"].empty());
    CHECK(j["root_cause"].is_null());
    CHECK(j["lessons"]["well"].empty());
    CHECK(j["services"].empty());
    CHECK(j["review"]["at"].is_null());
    CHECK(j["revisions"].empty());
}

TEST_CASE("a later text replaces the draft's and the earlier one stays in the history") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.command("impact customers some checkouts failed", "bob", ch);
    bot.clock.advance(60'000);
    bot.command("impact customers 30% of checkouts failed", "carol", ch);
    bot.command("why first answer", "bob", ch);
    bot.command("why second answer", "bob", ch);
    bot.clock.advance(60'000);
    REQUIRE(bot.command("why 1 better first answer", "dave", ch).reply.ok);

    const auto sections = bot.service.sections(1);
    REQUIRE(sections.impact_customers);
    CHECK(sections.impact_customers->text == "30% of checkouts failed");
    CHECK(sections.impact_customers->author.name == "carol");
    REQUIRE(sections.whys.size() == 2);
    CHECK(sections.whys[0].text == "better first answer");
    CHECK(sections.whys[0].author.name == "dave");
    CHECK(sections.whys[1].text == "second answer");

    const auto history = bot.service.revisions(1);
    REQUIRE(history.size() == 5);
    CHECK(history[0].text == "some checkouts failed");
    CHECK(history[0].author.name == "bob");
    CHECK(history[0].at == testing::k_start);
    CHECK(history[1].at == testing::k_start + 60'000);
    CHECK(history[4].section == Section::why);
    CHECK(history[4].item == history[2].item);
    const std::string md = render_postmortem(bot.service.snapshot(1));
    CHECK(has(md, "- **Customers:** 30% of checkouts failed\n"));
    CHECK_FALSE(has(md, "some checkouts failed"));
    CHECK(has(md, "1. Why? better first answer\n2. Why? second answer\n"));
    const auto j = to_json(bot.service.snapshot(1));
    CHECK(j["revisions"][0]["text"] == "some checkouts failed");
    CHECK(j["revisions"][0]["section"] == "impact.customers");
}

TEST_CASE("the summary command and resolve's summary share one history") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.command("resolve pool emptied; rolled back", "alice", ch);
    bot.command("summary A config push emptied the pool; we rolled it back.", "carol", ch);
    CHECK(bot.service.require(1).summary == "A config push emptied the pool; we rolled it back.");
    const auto history = bot.service.revisions(1);
    REQUIRE(history.size() == 2);
    CHECK(history[0].text == "pool emptied; rolled back");
    CHECK(history[0].author.name == "alice");
}

TEST_CASE("bad section input says what to type and changes nothing") {
    Bot bot;
    const std::string ch = bot.declare();
    REQUIRE(bot.command("why the first why", "carol", ch).reply.ok);
    REQUIRE(bot.command("service checkout", "carol", ch).reply.ok);

    refused(bot, "summary", ch, "`/incident summary <text>`");
    refused(bot, "summary    ", ch, "`/incident summary <text>`");
    refused(bot, "impact", ch, "/incident impact customers|internal|availability <text>");
    refused(bot, "impact revenue we lost money", ch, "`revenue` is not a part of the impact");
    refused(bot, "impact customers", ch, "`/incident impact customers <text>`");
    refused(bot, "why", ch, "`/incident why [n] <text>`");
    refused(bot, "why 2 there is no second why yet", ch,
            "INC-1 has 1 why, so there is no number 2 to replace");
    refused(bot, "why 1", ch, "`/incident why [n] <text>`");
    refused(bot, "why 0 there is no why zero", ch, "so there is no number 0 to replace");
    refused(bot, "why 00 there is no why zero", ch, "so there is no number 0 to replace");
    refused(bot, "why 99999999999 nor this one", ch, "`99999999999` is not the number of a why");
    refused(bot, "rootcause", ch, "`/incident rootcause <text>`");
    refused(bot, "lesson", ch, "/incident lesson well|wrong|lucky <text>");
    refused(bot, "lesson meh it was fine", ch, "`meh` is not a kind of lesson");
    refused(bot, "lesson well", ch, "`/incident lesson well <text>`");
    refused(bot, "service", ch, "`/incident service <name>`");
    refused(bot, "service Checkout", ch, "`checkout` is already an affected service of INC-1");
    refused(bot, "prevent", ch, "/incident prevent <text> [@owner] [due:YYYY-MM-DD]");
    refused(bot, "prevent add a runbook due:2026-02-30", ch, "2026-02-30");
    refused(bot, "review", ch, "/incident review <YYYY-MM-DD> <HH:MM>");
    refused(bot, "review tomorrow 14:00", ch, "is not a date and time");
    refused(bot, "review 2026-11-24 25:00", ch, "is not a date and time");
    refused(bot, "review 2026-13-01 10:00", ch, "is not a date and time");
    refused(bot, "review 2026-11-23 09:59", ch, "2026-11-23T09:59 UTC is in the past");
    refused(bot, "review 2025-01-01 10:00", ch, "Pick a later time");
    refused(bot, "summary outside", "general", "This is not an incident channel");

    // 20,000 characters fit, one more does not (counted in characters, not bytes).
    Incident inc = bot.service.require(1);
    std::string at_limit;
    for (int i = 0; i < 20'000; ++i) at_limit += "é";
    CHECK_NOTHROW(bot.service.write_section(inc, Section::root_cause, at_limit, std::nullopt,
                                            Actor{"U-carol", "carol"}, bot.clock.now()));
    const auto before = bot.service.revisions(1).size();
    CHECK_THROWS_WITH_AS(
        bot.service.write_section(inc, Section::root_cause, at_limit + "x", std::nullopt,
                                  Actor{"U-carol", "carol"}, bot.clock.now()),
        doctest::Contains("at most 20000"), DomainError);
    CHECK(bot.service.revisions(1).size() == before);
    CHECK_THROWS_AS(bot.service.write_section(inc, Section::summary, "\xff\xfe", std::nullopt,
                                              Actor{"U-carol", "carol"}, bot.clock.now()),
                    DomainError);
}

TEST_CASE("a closed or merged incident's post-mortem can no longer be written") {
    Bot bot;
    const std::string ch = bot.declare();
    const std::string other = bot.declare("Duplicate");
    REQUIRE(bot.command("merge INC-1", "alice", other).reply.ok);
    const auto merged = bot.command("summary a duplicate", "carol", other);
    CHECK_FALSE(merged.reply.ok);
    CHECK(has(merged.reply.text, "INC-2 was merged into INC-1; write the post-mortem there"));

    REQUIRE(bot.command("resolve done", "alice", ch).reply.ok);
    REQUIRE(bot.command("close force no time", "alice", ch).reply.ok);
    for (const std::string command :
         {"summary late", "impact customers late", "why late", "rootcause late", "lesson well late",
          "service late", "prevent late", "review 2027-01-01 10:00"}) {
        refused(bot, command, ch, "INC-1 is closed");
    }
}

TEST_CASE("preventive measures are numbered with the action items and listed apart") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.command("todo roll back the config push @bob", "alice", ch);
    const Outcome out = bot.command(
        "prevent validate pool size in config pushes @dave due:2026-12-10", "carol", ch);
    REQUIRE(out.reply.ok);
    CHECK(out.reply.visibility == Reply::Visibility::in_channel);
    CHECK(has(out.reply.text, "Preventive measure 2 added to INC-1"));
    bot.command("todo page the vendor", "alice", ch);

    const auto items = bot.service.actions(1);
    REQUIRE(items.size() == 3);
    CHECK(items[0].kind == ActionKind::corrective);
    CHECK(items[1].kind == ActionKind::preventive);
    CHECK(items[1].number == 2);
    CHECK(items[1].owner == "@dave");
    CHECK(items[1].due == "2026-12-10");
    CHECK(items[2].number == 3);

    const Outcome done = bot.command("done 2", "dave", ch);
    REQUIRE(done.reply.ok);
    CHECK(bot.service.actions(1)[1].status == ActionStatus::done);

    const std::string md = render_postmortem(bot.service.snapshot(1));
    const auto corrective =
        md.substr(md.find("## Corrective actions"),
                  md.find("## Preventive measures") - md.find("## Corrective actions"));
    const auto preventive =
        md.substr(md.find("## Preventive measures"),
                  md.find("## Lessons learned") - md.find("## Preventive measures"));
    CHECK(has(corrective, "| 1 | roll back the config push @bob | @bob |"));
    CHECK(has(corrective, "| 3 | page the vendor |"));
    CHECK_FALSE(has(corrective, "validate pool size"));
    CHECK(has(preventive,
              "| 2 | validate pool size in config pushes @dave | @dave | 2026-12-10 | done | "
              "command |"));
    CHECK_FALSE(has(preventive, "*Runbook and documentation updates.*"));
    const auto j = to_json(bot.service.snapshot(1));
    CHECK(j["action_items"][0]["kind"] == "corrective");
    CHECK(j["action_items"][1]["kind"] == "preventive");
    CHECK(has(bot.command("todos", "alice", ch).reply.text, "2. (preventive) [x] validate"));
}

TEST_CASE("mine lists my open items of every incident, corrective and preventive") {
    Bot bot;
    const std::string first = bot.declare("First");
    const std::string second = bot.declare("Second");
    bot.command("todo fix the pool @bob", "alice", first);
    bot.command("todo not mine @carol", "alice", first);
    bot.command("prevent add a pool alert @Bob", "alice", second);
    bot.command("todo finished one @bob", "alice", second);
    bot.command("done 2", "alice", second);
    // Slack's escaped mention names bob by id.
    bot.command("todo answer the customer <@U-bob|bob>", "alice", second);

    const Outcome out = bot.command("mine", "bob");
    REQUIRE(out.reply.ok);
    CHECK(out.reply.visibility == Reply::Visibility::ephemeral);
    CAPTURE(out.reply.text);
    CHECK(has(out.reply.text, "INC-1 1. [ ] fix the pool @bob"));
    CHECK(has(out.reply.text, "INC-2 1. (preventive) [ ] add a pool alert @Bob"));
    CHECK(has(out.reply.text, "INC-2 3. [ ] answer the customer"));
    CHECK_FALSE(has(out.reply.text, "not mine"));
    CHECK_FALSE(has(out.reply.text, "finished one"));
    CHECK(has(bot.command("mine", "erin").reply.text, "You own no open action items"));
    CHECK_FALSE(bot.command("mine everything", "bob").reply.ok);
}

TEST_CASE("stats count incidents per affected service, merged ones with their primary") {
    Bot bot;
    const std::string a = bot.declare("A");
    const std::string b = bot.declare("B");
    const std::string c = bot.declare("C");
    bot.command("service checkout", "alice", a);
    bot.command("service payments", "alice", a);
    bot.command("service Checkout", "alice", b);
    bot.command("service checkout", "alice", c);
    REQUIRE(bot.command("merge INC-2", "alice", c).reply.ok);  // counted with INC-2
    const Stats s = bot.service.stats(std::nullopt);
    REQUIRE(s.services.size() == 2);
    CHECK(s.services[0].name == "checkout");
    CHECK(s.services[0].incidents == 2);
    CHECK(s.services[1].name == "payments");
    CHECK(s.services[1].incidents == 1);
    const std::string text = bot.command("stats").reply.text;
    CHECK(has(text, "Incidents by affected service: checkout 2, payments 1"));
}

TEST_CASE("help lists every section command") {
    Bot bot;
    const std::string help = bot.command("help").reply.text;
    for (const std::string usage :
         {"/incident summary <text>", "/incident impact customers|internal|availability <text>",
          "/incident why [n] <text>", "/incident rootcause <text>",
          "/incident lesson well|wrong|lucky <text>",
          "/incident prevent <text> [@owner] [due:YYYY-MM-DD]",
          "/incident review <YYYY-MM-DD> <HH:MM>", "/incident mine", "/incident service <name>"}) {
        CHECK_MESSAGE(has(help, usage), usage);
    }
}

namespace {

// A save from the dashboard's form, run like every change: in one transaction.
SectionSave save(Bot& bot, Section section, const std::string& text, std::optional<int> position,
                 std::int64_t based_on, const std::string& user) {
    SectionSave out;
    const Outcome outcome = bot.service.execute("", [&] {
        Incident inc = bot.service.require(1);
        out = bot.service.save_section(inc, section, text, position, based_on,
                                       Actor{"U-" + user, user}, bot.clock.now());
        return Reply{};
    });
    REQUIRE_MESSAGE(outcome.reply.ok, outcome.reply.text);
    return out;
}

std::vector<std::string> history_texts(Bot& bot) {
    std::vector<std::string> texts;
    for (const auto& r : bot.service.revisions(1)) texts.push_back(r.text);
    return texts;
}

}  // namespace

TEST_CASE("a save from a stale revision is set aside beside the newer text, nothing is lost") {
    Bot bot;
    const std::string ch = bot.declare();
    REQUIRE(bot.command("impact customers from chat", "carol", ch).reply.ok);
    const std::int64_t opened = bot.service.sections(1).impact_customers->id;

    // Alice and Bob opened the form at the same revision; Alice saves first.
    bot.clock.advance(1000);
    const SectionSave alice =
        save(bot, Section::impact_customers, "alice's text", {}, opened, "alice");
    CHECK_FALSE(alice.conflict());
    CHECK(alice.revision.author.name == "alice");
    CHECK(bot.service.sections(1).impact_customers->text == "alice's text");

    bot.clock.advance(1000);
    const SectionSave bob = save(bot, Section::impact_customers, "bob's text", {}, opened, "bob");
    REQUIRE(bob.conflict());
    CHECK(bob.newer->id == alice.revision.id);
    CHECK(bob.newer->text == "alice's text");
    CHECK(bob.newer->author.name == "alice");
    CHECK(is_set_aside(bob.revision));
    CHECK(intended_item(bob.revision) == 0);
    CHECK(bob.revision.text == "bob's text");
    CHECK(bob.revision.author.name == "bob");
    // The draft keeps Alice's text; the history keeps all three.
    CHECK(bot.service.sections(1).impact_customers->text == "alice's text");
    CHECK(history_texts(bot) ==
          std::vector<std::string>{"from chat", "alice's text", "bob's text"});
    const std::string md = render_postmortem(bot.service.snapshot(1));
    CHECK(has(md, "- **Customers:** alice's text\n"));
    CHECK_FALSE(has(md, "bob's text"));
    const auto j = to_json(bot.service.snapshot(1));
    CHECK(j["impact"]["customers"] == "alice's text");
    CHECK(j["revisions"].back()["set_aside"] == true);
    CHECK(j["revisions"].back()["item"] == 0);
    CHECK_FALSE(j["revisions"][1].contains("set_aside"));

    // Bob merges the two from the newer revision: saved.
    const SectionSave merged = save(bot, Section::impact_customers, "alice's and bob's text", {},
                                    alice.revision.id, "bob");
    CHECK_FALSE(merged.conflict());
    CHECK(bot.service.sections(1).impact_customers->text == "alice's and bob's text");

    // "Empty when I opened it" is stale once someone wrote it, and fine while it is empty.
    CHECK(save(bot, Section::root_cause, "first", {}, 0, "alice").conflict() == false);
    CHECK(save(bot, Section::root_cause, "second", {}, 0, "bob").conflict());
    CHECK(bot.service.sections(1).root_cause->text == "first");
}

TEST_CASE("list items conflict one by one, and appending never conflicts") {
    Bot bot;
    const std::string ch = bot.declare();
    REQUIRE(bot.command("why the pool was empty", "carol", ch).reply.ok);
    REQUIRE(bot.command("why a push set it to 0", "carol", ch).reply.ok);
    const auto whys = bot.service.sections(1).whys;
    REQUIRE(whys.size() == 2);

    CHECK_FALSE(
        save(bot, Section::why, "the pool had no hosts", 1, whys[0].id, "alice").conflict());
    // Why 2 is untouched: a form based on it still saves.
    CHECK_FALSE(
        save(bot, Section::why, "a push set the size to 0", 2, whys[1].id, "bob").conflict());
    const SectionSave stale = save(bot, Section::why, "bob's why 1", 1, whys[0].id, "bob");
    REQUIRE(stale.conflict());
    CHECK(stale.newer->text == "the pool had no hosts");
    CHECK(intended_item(stale.revision) == whys[0].item);
    // Appending: the next why, whatever the form had seen.
    CHECK_FALSE(save(bot, Section::why, "pushes are not validated", {}, 0, "bob").conflict());
    const auto now = bot.service.sections(1).whys;
    REQUIRE(now.size() == 3);
    CHECK(now[0].text == "the pool had no hosts");
    CHECK(now[1].text == "a push set the size to 0");
    CHECK(now[2].text == "pushes are not validated");
    const std::string md = render_postmortem(bot.service.snapshot(1));
    CHECK_FALSE(has(md, "bob's why 1"));
}

TEST_CASE("a save from the dashboard is validated like the chat command") {
    Bot bot;
    const std::string ch = bot.declare();
    const auto refused_save = [&](Section section, const std::string& text,
                                  std::optional<int> position, const std::string& message) {
        const auto before = bot.service.revisions(1).size();
        const Outcome out = bot.service.execute("", [&] {
            Incident inc = bot.service.require(1);
            bot.service.save_section(inc, section, text, position, 0, Actor{"U-a", "a"},
                                     bot.clock.now());
            return Reply{};
        });
        CAPTURE(text);
        CHECK_FALSE(out.reply.ok);
        CHECK(has(out.reply.text, message));
        CHECK(bot.service.revisions(1).size() == before);
    };
    refused_save(Section::summary, "   ", {}, "Nothing was written");
    refused_save(Section::summary, std::string(20'001, 'x'), {}, "at most 20000");
    refused_save(Section::summary, "\xff\xfe", {}, "not valid UTF-8");
    refused_save(Section::why, "no such why", 3, "no number 3");
    refused_save(Section::review, "2027-01-01", {}, "Schedule the review");
    REQUIRE(bot.command("resolve done", "alice", ch).reply.ok);
    REQUIRE(bot.command("close force no time", "alice", ch).reply.ok);
    // Stale or not, a closed incident's post-mortem is final: nothing is set aside either.
    refused_save(Section::summary, "late", {}, "INC-1 is closed");
}

TEST_CASE("login answers only the caller, and says so when the bot has no sign-in") {
    Bot bot;
    Outcome out = bot.command("login", "alice");
    CHECK_FALSE(out.reply.ok);
    CHECK(out.reply.visibility == Reply::Visibility::ephemeral);
    CHECK(has(out.reply.text, "no dashboard sign-in"));

    std::vector<std::pair<std::string, Actor>> asked;
    bot.service.use_sign_in([&](const std::string& platform, const Actor& person, Timestamp at) {
        asked.emplace_back(platform, person);
        return SignInLink{"https://bot.example.com/login/t0ken", at + 600'000};
    });
    out = bot.command("login", "alice");
    CHECK(out.reply.ok);
    CHECK(out.reply.visibility == Reply::Visibility::ephemeral);
    CHECK(has(out.reply.text, "https://bot.example.com/login/t0ken"));
    CHECK(has(out.reply.text, "for the next 10 minutes"));
    CHECK(has(out.reply.text, "recorded as @alice"));
    CHECK(out.effects.empty());
    REQUIRE(asked.size() == 1);
    CHECK(asked[0].first == "test");
    CHECK(asked[0].second == Actor{"U-alice", "alice"});
    CHECK_FALSE(bot.command("login now", "alice").reply.ok);
    CHECK(has(bot.command("help").reply.text, "/incident login"));
}
