#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "bot/calendar.hpp"
#include "bot/postmortem.hpp"
#include "bot/reminders.hpp"
#include "fixture.hpp"

using namespace incident;
using incident::testing::Bot;
using incident::testing::k_start;

namespace {

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::vector<const PostMessage*> posts(const Outcome& out) {
    std::vector<const PostMessage*> found;
    for (const auto& e : out.effects) {
        if (const auto* p = std::get_if<PostMessage>(&e)) found.push_back(p);
    }
    return found;
}

const Notify* notify_of(const Outcome& out, NotifyKind kind) {
    for (const auto& e : out.effects) {
        if (const auto* n = std::get_if<Notify>(&e); n && n->kind == kind) return n;
    }
    return nullptr;
}

std::vector<std::string> dms_to(const std::vector<Reminder>& reminders, const std::string& name) {
    std::vector<std::string> found;
    for (const auto& r : reminders) {
        const auto& p = std::get<PostMessage>(r.effect);
        if (const auto* u = std::get_if<ToUser>(&p.to); u && u->who.name == name) {
            found.push_back(p.text);
        }
    }
    return found;
}

// The follow-up reminders only.
ReminderPolicy only_followup() {
    ReminderPolicy policy = testing::quiet_policy();
    const ReminderPolicy defaults;
    policy.review_day_before = defaults.review_day_before;
    policy.review_hour_before = defaults.review_hour_before;
    policy.action_item_reminders = true;
    return policy;
}

// A resolved incident with a written post-mortem.
std::string written_incident(Bot& bot) {
    const std::string ch = bot.declare("Checkout returns 502s");
    bot.command("factor technical connection pool exhausted", "bob", ch);
    bot.command("todo add a guard for empty pools @dave", "alice", ch);
    bot.command("rootcause config pushes skip validation", "carol", ch);
    bot.command("resolve sev2 pool emptied; rolled back", "alice", ch);
    return ch;
}

}  // namespace

TEST_CASE("publishing freezes a version with a permanent link, announced to every stakeholder") {
    Bot bot;
    const std::string ch = written_incident(bot);
    bot.command("subscribe", "erin", ch);
    const Outcome out = bot.command("postmortem publish", "alice", ch);
    REQUIRE_MESSAGE(out.reply.ok, out.reply.text);
    CHECK(has(out.reply.text, "published as version 1"));
    const std::string link = "https://bot.example.com/incidents/INC-1/postmortem/v1";
    CHECK(has(out.reply.text, "Permanent link: " + link));

    bool announced = false, subscriber = false;
    for (const auto* p : posts(out)) {
        if (std::holds_alternative<ToAnnouncements>(p->to)) announced = has(p->text, link);
        if (const auto* u = std::get_if<ToUser>(&p->to); u && u->who.name == "erin") {
            subscriber = has(p->text, link);
        }
    }
    CHECK(announced);
    CHECK(subscriber);
    const Notify* n = notify_of(out, NotifyKind::postmortem_published);
    REQUIRE(n);
    CHECK(n->postmortem_link == link);  // what the email and the webhook link to

    const auto versions = bot.service.published(1);
    REQUIRE(versions.size() == 1);
    CHECK(versions[0].version == 1);
    CHECK(versions[0].by.name == "alice");
    CHECK(has(versions[0].markdown, "published version 1"));
    CHECK(has(versions[0].markdown, "**Root cause:** config pushes skip validation"));

    // A later edit changes the draft only; the next publish is version 2.
    bot.command("rootcause config pushes are applied unvalidated", "carol", ch);
    CHECK(has(bot.service.published(1)[0].markdown, "config pushes skip validation"));
    CHECK(has(render_postmortem(bot.service.snapshot(1)), "config pushes are applied unvalidated"));
    REQUIRE(bot.command("postmortem publish", "alice", ch).reply.ok);
    const auto again = bot.service.published(1);
    REQUIRE(again.size() == 2);
    CHECK(again[1].version == 2);
    CHECK(has(again[1].markdown, "config pushes are applied unvalidated"));
    CHECK(has(again[0].markdown, "config pushes skip validation"));
}

TEST_CASE("an open incident's post-mortem cannot be published, and nothing is frozen") {
    Bot bot;
    const std::string ch = bot.declare();
    const Outcome out = bot.command("postmortem publish", "alice", ch);
    CHECK_FALSE(out.reply.ok);
    CHECK(has(out.reply.text, "Resolve the incident before publishing"));
    CHECK(bot.service.published(1).empty());
}

TEST_CASE(
    "full-text search finds published post-mortems by title, summary, cause, factors, actions") {
    Bot bot;
    const std::string a = written_incident(bot);
    REQUIRE(bot.command("postmortem publish", "alice", a).reply.ok);
    const std::string b = bot.declare("Search results are slow");
    bot.command("summary the index rebuild saturated the disks", "carol", b);
    bot.command("prevent throttle index rebuilds @erin", "carol", b);
    bot.command("resolve", "alice", b);
    REQUIRE(bot.command("postmortem publish", "alice", b).reply.ok);
    const std::string c = bot.declare("Never published");
    bot.command("resolve connection pool again", "alice", c);

    const auto numbers = [&](const std::string& words) {
        std::vector<std::int64_t> out;
        for (const auto& p : bot.service.search_published(words)) out.push_back(p.incident);
        return out;
    };
    CHECK(numbers("") == std::vector<std::int64_t>{2, 1});         // newest first
    CHECK(numbers("checkout") == std::vector<std::int64_t>{1});    // title
    CHECK(numbers("disks") == std::vector<std::int64_t>{2});       // summary
    CHECK(numbers("validation") == std::vector<std::int64_t>{1});  // root cause
    CHECK(numbers("exhausted") == std::vector<std::int64_t>{1});   // factor
    CHECK(numbers("throttle") == std::vector<std::int64_t>{2});    // preventive action
    CHECK(numbers("guard pool") == std::vector<std::int64_t>{1});  // every word
    CHECK(numbers("rebuil") == std::vector<std::int64_t>{2});      // a prefix
    CHECK(numbers("guard disks").empty());
    CHECK(numbers("\"unbalanced OR ( NEAR*").empty());  // no query syntax leaks through
    // Only the newest version of each post-mortem is listed.
    bot.command("summary the checkout pool emptied", "carol", a);
    REQUIRE(bot.command("postmortem publish", "alice", a).reply.ok);
    const auto found = bot.service.search_published("checkout");
    REQUIRE(found.size() == 1);
    CHECK(found[0].version == 2);
}

TEST_CASE("the review meeting as an RFC 5545 calendar file") {
    Bot bot;
    const std::string ch = bot.declare("Checkout, payments; and \\ more");
    CHECK_FALSE(review_event(bot.service.snapshot(1), ""));
    const Outcome out = bot.command("review 2026-11-30 14:00", "carol", ch);
    REQUIRE(out.reply.ok);
    CHECK(has(out.reply.text, "https://bot.example.com/incidents/INC-1/review.ics"));
    auto event = review_event(bot.service.snapshot(1), "https://bot.example.com/incidents/INC-1");
    REQUIRE(event);
    CHECK(event->sequence == 0);
    const std::string ics = review_calendar(*event);
    CHECK(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
    CHECK(ics.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
    CHECK(has(ics, "\r\nUID:INC-1-postmortem-review@incident-bot\r\n"));
    CHECK(has(ics, "\r\nDTSTART:20261130T140000Z\r\n"));
    CHECK(has(ics, "\r\nDTSTAMP:20261123T100000Z\r\n"));
    CHECK(has(ics, "\r\nDURATION:PT1H\r\n"));
    CHECK(has(ics, "SUMMARY:Post-mortem review: INC-1 Checkout\\, payments\\; and \\\\ more"));
    // No bare LF, and no line longer than 75 octets.
    std::size_t start = 0;
    while (start < ics.size()) {
        const auto end = ics.find("\r\n", start);
        REQUIRE(end != std::string::npos);
        CHECK(end - start <= 75);
        CHECK(ics.substr(start, end - start).find('\n') == std::string::npos);
        start = end + 2;
    }
    bot.command("review 2026-12-01 09:30", "carol", ch);
    event = review_event(bot.service.snapshot(1), "");
    REQUIRE(event);
    CHECK(event->sequence == 1);  // a reschedule updates the imported event
    CHECK(has(review_calendar(*event), "DTSTART:20261201T093000Z"));
}

TEST_CASE("ical text escaping and folding keep UTF-8 sequences whole") {
    CHECK(ical_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne");
    std::string title;
    for (int i = 0; i < 60; ++i) title += "é";
    const std::string ics = review_calendar({"INC-9", title, 0, 0, 0, "", ""});
    const auto at = ics.find("SUMMARY:");
    const auto line_end = ics.find("\r\n", at);
    const std::string first = ics.substr(at, line_end - at);
    CHECK(first.size() <= 75);
    CHECK(is_valid_utf8(first));
    CHECK(ics.substr(line_end, 3) == "\r\n ");
}

TEST_CASE("the roles are reminded of the review the day before and an hour before, once each") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.command("role scribe @carol", "alice", ch);
    bot.command("postmortem owner @dave", "alice", ch);
    // 2026-11-25T14:00Z, two days after k_start.
    REQUIRE(bot.command("review 2026-11-25 14:00", "alice", ch).reply.ok);
    ReminderService reminders(bot.store, bot.service, bot.clock, only_followup());
    CHECK(reminders.tick().empty());
    bot.clock.set(k_start + 28 * k_hour_ms);  // 11-24 14:00, a day before
    auto sent = reminders.tick();
    for (const std::string name : {"alice", "carol", "dave"}) {
        const auto dms = dms_to(sent, name);
        REQUIRE_MESSAGE(dms.size() == 1, name);
        CHECK(has(dms[0],
                  "the post-mortem review of INC-1 (Checkout is down) is on 2026-11-25 at "
                  "14:00 UTC"));
        CHECK(has(dms[0], "/incidents/INC-1/review.ics"));
    }
    CHECK(sent.size() == 3);
    CHECK(reminders.tick().empty());
    bot.clock.set(k_start + 51 * k_hour_ms + 15 * k_minute_ms);  // 11-25 13:15
    sent = reminders.tick();
    CHECK(sent.size() == 3);
    CHECK(has(dms_to(sent, "carol").at(0), "is in 45m 00s, at 14:00 UTC"));
    CHECK(reminders.tick().empty());
    bot.clock.set(k_start + 53 * k_hour_ms);  // after the meeting
    CHECK(reminders.tick().empty());
}

TEST_CASE("an action item's owner hears of it on assignment, the day before and when overdue") {
    Bot bot;
    const std::string ch = bot.declare();
    const Outcome assigned =
        bot.command("todo add a guard for empty pools @dave due:2026-11-25", "alice", ch);
    const auto dm = [&](const Outcome& out, const std::string& name) {
        std::vector<std::string> found;
        for (const auto* p : posts(out)) {
            if (const auto* u = std::get_if<ToUser>(&p->to); u && u->who.name == name) {
                found.push_back(p->text);
            }
        }
        return found;
    };
    REQUIRE(dm(assigned, "dave").size() == 1);
    CHECK(has(dm(assigned, "dave")[0],
              "@alice made you the owner of action item 1 of INC-1 (Checkout is down): add a guard "
              "for empty pools @dave (due 2026-11-25)"));
    // Assigning yourself needs no message; a preventive measure is named as one.
    CHECK(dm(bot.command("todo my own @alice", "alice", ch), "alice").empty());
    const Outcome preventive =
        bot.command("prevent alert on pool size <@U-erin|erin>", "alice", ch);
    REQUIRE(dm(preventive, "erin").size() == 1);
    CHECK(has(dm(preventive, "erin")[0], "owner of preventive measure 3 of INC-1"));
    // A TODO line edited to a new owner tells the new owner, once.
    bot.say(ch, "m1", "TODO: page the vendor @bob", "carol");
    const Outcome edited =
        bot.event(MessageEdited{bot.header(ch), "m1", "TODO: page the vendor @frank"});
    CHECK(dm(edited, "frank").size() == 1);
    const Outcome again =
        bot.event(MessageEdited{bot.header(ch), "m1", "TODO: page the vendor @bob"});
    CHECK(dm(again, "bob").empty());  // bob was told when it was first his

    ReminderService reminders(bot.store, bot.service, bot.clock, only_followup());
    CHECK(dms_to(reminders.tick(), "dave").empty());
    bot.clock.set(k_start + 20 * k_hour_ms);  // 2026-11-24 06:00: due tomorrow
    auto sent = reminders.tick();
    REQUIRE(dms_to(sent, "dave").size() == 1);
    CHECK(has(dms_to(sent, "dave")[0],
              "Action item 1 of INC-1 (add a guard for empty pools @dave) "
              "is due tomorrow, 2026-11-25"));
    CHECK(reminders.tick().empty());
    bot.clock.set(k_start + 62 * k_hour_ms);  // 2026-11-26: overdue
    sent = reminders.tick();
    REQUIRE(dms_to(sent, "dave").size() == 1);
    CHECK(has(dms_to(sent, "dave")[0], "was due on 2026-11-25 and is still open"));
    CHECK(reminders.tick().empty());
    bot.clock.advance(7 * k_day_ms);
    CHECK(reminders.tick().empty());  // overdue is said once
    bot.command("done 1", "dave", ch);
    CHECK(dms_to(reminders.tick(), "dave").empty());
}

TEST_CASE("the weekly digest lists open and overdue items by owner, on Mondays") {
    Bot bot;
    const std::string ch = bot.declare();
    bot.command("todo add a guard @dave due:2026-11-20", "alice", ch);
    bot.command("prevent alert on pool size @carol", "alice", ch);
    bot.command("todo page the vendor", "alice", ch);
    bot.command("todo finished @dave", "alice", ch);
    bot.command("done 4", "alice", ch);
    ReminderPolicy policy = only_followup();
    policy.action_item_reminders = false;
    policy.digest_hour = 9;
    policy.weekly_digest_weekday = 1;  // Monday
    ReminderService reminders(bot.store, bot.service, bot.clock, policy);
    // k_start is Monday 2026-11-23 10:00.
    auto sent = reminders.tick();
    std::string weekly;
    for (const auto& r : sent) {
        const auto& p = std::get<PostMessage>(r.effect);
        if (has(p.text, "Weekly follow-up")) weekly = p.text;
    }
    CAPTURE(weekly);
    CHECK(has(weekly,
              "📋 Weekly follow-up, 2026-11-23: 3 open action items and preventive "
              "measures (1 overdue), by owner:"));
    CHECK(has(weekly, "@dave (1):\n  • INC-1 #1 add a guard @dave — OVERDUE since 2026-11-20"));
    CHECK(has(weekly, "@carol (1):\n  • INC-1 #2 (preventive) alert on pool size @carol"));
    CHECK(has(weekly, "unassigned (1):\n  • INC-1 #3 page the vendor"));
    CHECK_FALSE(has(weekly, "finished"));
    bot.clock.advance(k_hour_ms);
    for (const auto& r : reminders.tick()) {
        CHECK_FALSE(has(std::get<PostMessage>(r.effect).text, "Weekly follow-up"));
    }
    bot.clock.advance(k_day_ms);  // Tuesday
    for (const auto& r : reminders.tick()) {
        CHECK_FALSE(has(std::get<PostMessage>(r.effect).text, "Weekly follow-up"));
    }
}

TEST_CASE("an action item is edited in chat: text, owner and due date, told to its new owner") {
    Bot bot;
    const std::string ch = bot.declare();
    REQUIRE(
        bot.command("todo add a guard for empty pools @bob due:2026-12-01", "alice", ch).reply.ok);
    const auto item = [&] { return bot.service.actions(1).at(0); };
    const auto dms = [](const Outcome& out, const std::string& name) {
        std::vector<std::string> found;
        for (const auto* p : posts(out)) {
            if (const auto* u = std::get_if<ToUser>(&p->to); u && u->who.name == name) {
                found.push_back(p->text);
            }
        }
        return found;
    };

    const Outcome reassigned = bot.command("edit 1 owner @dave", "carol", ch);
    REQUIRE(reassigned.reply.ok);
    CHECK(reassigned.reply.visibility == Reply::Visibility::in_channel);
    CHECK(has(reassigned.reply.text, "@carol changed action item 1 of INC-1"));
    CHECK(item().owner == "@dave");
    REQUIRE(dms(reassigned, "dave").size() == 1);
    CHECK(has(dms(reassigned, "dave")[0], "@carol made you the owner of action item 1 of INC-1"));

    REQUIRE(bot.command("edit 1 due 2026-12-24", "carol", ch).reply.ok);
    CHECK(item().due == "2026-12-24");
    REQUIRE(bot.command("edit 1 due none", "carol", ch).reply.ok);
    CHECK_FALSE(item().due.has_value());
    // New text; a mention and a due date in it change those too.
    const Outcome rewritten =
        bot.command("edit 1 guard every pool against zero size @erin due:2026-12-30", "carol", ch);
    REQUIRE(rewritten.reply.ok);
    CHECK(item().text == "guard every pool against zero size @erin");
    CHECK(item().owner == "@erin");
    CHECK(item().due == "2026-12-30");
    CHECK(dms(rewritten, "erin").size() == 1);
    // New text that names nobody keeps the owner.
    REQUIRE(bot.command("edit 1 guard every pool", "carol", ch).reply.ok);
    CHECK(item().owner == "@erin");
    REQUIRE(bot.command("edit 1 owner nobody", "carol", ch).reply.ok);
    CHECK(item().owner.empty());

    bool on_timeline = false;
    for (const auto& entry : bot.service.timeline(1)) {
        on_timeline =
            on_timeline || entry.text ==
                               "Action item 1 now reads \"guard every pool against zero size "
                               "@erin\", is owned by @erin and is due 2026-12-30";
    }
    CHECK(on_timeline);

    // Each bad edit says what to type and changes nothing.
    const ActionItem before = item();
    for (const auto& [command, says] : std::vector<std::pair<std::string, std::string>>{
             {"edit", "Which action item"},
             {"edit 1", "Which action item"},
             {"edit one fix", "`one` is not an action item number"},
             {"edit 9 fix", "INC-1 has no action item 9"},
             {"edit 1 owner", "Give the new owner"},
             {"edit 1 due", "Give the new due date"},
             {"edit 1 due tomorrow", "`tomorrow` is not a due date"},
             {"edit 1 due:2026-13-45 fix", "2026-13-45"},
             {"edit 1 owner bob", "`bob` is not a person"},
             {"edit 1 guard every pool", "already reads that; nothing changed"},
         }) {
        const Outcome out = bot.command(command, "carol", ch);
        CAPTURE(command);
        CAPTURE(out.reply.text);
        CHECK_FALSE(out.reply.ok);
        CHECK(has(out.reply.text, says));
        CHECK(out.effects.empty());
        CHECK(item().text == before.text);
        CHECK(item().owner == before.owner);
        CHECK(item().due == before.due);
    }
}

TEST_CASE("after closing, items are still edited and completed but no new ones are added") {
    Bot bot;
    const std::string ch = bot.declare();
    const std::string other = bot.declare("Duplicate");
    REQUIRE(bot.command("todo add a guard @bob", "alice", ch).reply.ok);
    REQUIRE(bot.command("todo the duplicate's item", "alice", other).reply.ok);
    REQUIRE(bot.command("merge INC-1", "alice", other).reply.ok);
    REQUIRE(bot.command("resolve done", "alice", ch).reply.ok);
    REQUIRE(bot.command("close force no time", "alice", ch).reply.ok);

    CHECK(bot.command("edit 1 due 2026-12-24", "bob", ch).reply.ok);
    CHECK(bot.command("done INC-1 1", "bob").reply.ok);
    CHECK(bot.service.actions(1).at(0).status == ActionStatus::done);
    for (const std::string& command : {"todo late", "prevent late"}) {
        const Outcome out = bot.command(command, "bob", ch);
        CAPTURE(command);
        CHECK_FALSE(out.reply.ok);
        CHECK(has(out.reply.text, "INC-1 is closed"));
    }
    CHECK(bot.service.actions(1).size() == 1);
    // A merged incident's primary holds the work.
    for (const std::string& command : {"edit 1 other text", "done 1", "todo more"}) {
        const Outcome out = bot.command(command, "bob", other);
        CAPTURE(command);
        CHECK_FALSE(out.reply.ok);
        CHECK(has(out.reply.text, "INC-2 was merged into INC-1"));
    }
    CHECK(bot.service.actions(2).at(0).status == ActionStatus::open);
}
