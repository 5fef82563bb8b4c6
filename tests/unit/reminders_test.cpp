#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "bot/reminders.hpp"
#include "fixture.hpp"
#include "temp_db.hpp"

using namespace incident;
using incident::testing::Bot;
using incident::testing::k_start;
using incident::testing::quiet_policy;
using incident::testing::TempDb;

namespace {

// 2026-11-23T00:00:00Z: k_start is 10:00 that day.
constexpr Timestamp k_day0 = k_start - 10 * k_hour_ms;

std::vector<std::string> texts(const std::vector<Reminder>& reminders) {
    std::vector<std::string> out;
    for (const auto& r : reminders) out.push_back(std::get<PostMessage>(r.effect).text);
    return out;
}

const PostMessage& post(const Reminder& r) {
    return std::get<PostMessage>(r.effect);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The bot of fixture.hpp on a database file, so a test can stop it and start another.
struct FileBot {
    FileBot(const std::string& path, Timestamp now, ReminderPolicy policy)
        : store(path), clock(now), reminders(store, service, clock, policy) {
        commands::register_builtin_commands(router);
    }
    Outcome command(const std::string& text, const std::string& channel = "general") {
        CommandRequest request{"req-" + std::to_string(clock.now()) + text,
                               "test",
                               channel,
                               channel,
                               Actor{"U-alice", "alice"},
                               text,
                               clock.now()};
        Outcome out = router.dispatch(request);
        for (const auto& effect : out.effects) {
            if (const auto* create = std::get_if<CreateChannel>(&effect)) {
                service.bind_channel(create->incident, "test",
                                     "C" + std::to_string(create->incident), create->name);
            }
        }
        return out;
    }

    SqliteStore store;
    ManualClock clock;
    IncidentService service{store, clock, ServiceOptions{"https://bot.example.com", {}}};
    commands::CommandRouter router{service};
    ReminderService reminders;
};

}  // namespace

TEST_SUITE("reminders") {
    TEST_CASE("a status nudge fires after the severity's interval, not before, not twice") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.status_update = ReminderPolicy{}.status_update;  // SEV2: one hour
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        const std::string ch = bot.declare();  // SEV2 at k_start

        bot.clock.set(k_start + 60 * k_minute_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(k_start + 60 * k_minute_ms);
        auto due = reminders.tick();
        REQUIRE(due.size() == 1);
        CHECK(due[0].platform == "test");
        REQUIRE(std::holds_alternative<ToIncident>(post(due[0]).to));
        CHECK(std::get<ToIncident>(post(due[0]).to).number == 1);
        CHECK(contains(post(due[0]).text, "INC-1 (SEV2) has had no status update for 1h"));
        CHECK(contains(post(due[0]).text, "@alice"));
        CHECK(reminders.tick().empty());  // same moment: not twice

        // It repeats one interval after the last nudge.
        bot.clock.set(k_start + 120 * k_minute_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(k_start + 120 * k_minute_ms);
        CHECK(reminders.tick().size() == 1);

        // An update starts the interval over.
        bot.clock.set(k_start + 130 * k_minute_ms);
        CHECK(bot.command("update rolled back", "alice", ch).reply.ok);
        bot.clock.set(k_start + 190 * k_minute_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(k_start + 190 * k_minute_ms);
        CHECK(reminders.tick().size() == 1);
    }

    TEST_CASE("while another replica holds the reminders lease, this one sends nothing") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.status_update = ReminderPolicy{}.status_update;  // SEV2: one hour
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        bot.declare();
        const Timestamp due = k_start + 60 * k_minute_ms;
        REQUIRE(bot.store.hold_lease("reminders", "other-host/8080", due, due + 90'000));
        bot.clock.set(due);
        CHECK(reminders.tick().empty());
        bot.clock.set(due + 89'999);
        CHECK(reminders.tick().empty());
        // The other replica stopped renewing it: this one takes over and sends what is due.
        bot.clock.set(due + 90'000);
        CHECK(reminders.tick().size() == 1);
        CHECK_FALSE(
            bot.store.hold_lease("reminders", "other-host/8080", due + 90'001, due + 180'000));
    }

    TEST_CASE("status intervals follow the severity, and SEV5 is never nudged by default") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.status_update = ReminderPolicy{}.status_update;
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        CHECK(bot.command("declare sev1 Payments down").reply.ok);
        CHECK(bot.command("declare sev5 Typo on the status page").reply.ok);
        bot.clock.set(k_start + 30 * k_minute_ms);
        const auto due = reminders.tick();
        REQUIRE(due.size() == 1);
        CHECK(std::get<ToIncident>(post(due[0]).to).number == 1);
        bot.clock.set(k_start + 30 * k_day_ms);
        for (const auto& r : reminders.tick()) CHECK(std::get<ToIncident>(post(r).to).number == 1);

        // Raising the severity shortens the interval at once.
        CHECK(bot.command("sev 3", "alice", "C2").reply.ok);
        CHECK(bot.command("sev 1", "alice", "C2").reply.ok);
        bot.clock.advance(30 * k_minute_ms);
        bool second = false;
        for (const auto& r : reminders.tick())
            second |= std::get<ToIncident>(post(r).to).number == 2;
        CHECK(second);
    }

    TEST_CASE("intervals are configurable down to seconds") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.status_update[1] = 5 * k_second_ms;
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        bot.declare();
        bot.clock.advance(4999);
        CHECK(reminders.tick().empty());
        bot.clock.advance(1);
        CHECK(reminders.tick().size() == 1);
        bot.clock.advance(5 * k_second_ms);
        CHECK(reminders.tick().size() == 1);
    }

    TEST_CASE("no status nudge after resolve, merge or close") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.status_update = {k_minute_ms, k_minute_ms, k_minute_ms, k_minute_ms, k_minute_ms};
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        const std::string a = bot.declare("A");
        const std::string b = bot.declare("B");
        const std::string c = bot.declare("C");
        CHECK(bot.command("resolve", "alice", a).reply.ok);
        CHECK(bot.command("merge INC-3", "alice", b).reply.ok);
        bot.clock.advance(10 * k_minute_ms);
        const auto due = reminders.tick();
        REQUIRE(due.size() == 1);  // only INC-3 is still open
        CHECK(std::get<ToIncident>(post(due[0]).to).number == 3);
        CHECK(bot.command("resolve", "alice", c).reply.ok);
        CHECK(bot.command("close force dup", "alice", c).reply.ok);
        bot.clock.advance(10 * k_day_ms);
        CHECK(reminders.tick().empty());

        // Reopened, it is open again and has been quiet for long: nudged at once.
        CHECK(bot.command("reopen", "alice", a).reply.ok);
        CHECK(reminders.tick().size() == 1);
    }

    TEST_CASE("an incident without a channel is nudged once it has one") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.status_update[1] = k_minute_ms;
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        CommandRequest request{"r1",
                               "test",
                               "general",
                               "general",
                               Actor{"U-alice", "alice"},
                               "declare sev2 No channel yet",
                               bot.clock.now()};
        CHECK(bot.router.dispatch(request).reply.ok);  // the adapter never created the channel
        bot.clock.advance(k_hour_ms);
        CHECK(reminders.tick().empty());
        bot.service.bind_channel(1, "test", "C1", "inc-1-no-channel-yet");
        CHECK(reminders.tick().size() == 1);
    }

    TEST_CASE("a nudge while no commander is assigned, repeating until one is") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.no_commander_after = 10 * k_minute_ms;
        policy.no_commander_repeat = 15 * k_minute_ms;
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        bot.declare("Has a commander");
        // Declared without a caller (an alert, say): nobody leads it.
        Incident orphan;
        orphan.title = "Disk full on db-3";
        orphan.severity = Severity::sev2;
        orphan.platform = "test";
        orphan.channel_id = "C2";
        orphan.channel_name = "inc-2-disk-full";
        orphan.declared_by = Actor{"alertmanager", "alertmanager"};
        orphan.declared_at = k_start;
        orphan.last_update_at = k_start;
        bot.store.insert_incident(orphan);

        bot.clock.set(k_start + 10 * k_minute_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(k_start + 10 * k_minute_ms);
        auto due = reminders.tick();
        REQUIRE(due.size() == 1);
        CHECK(std::get<ToIncident>(post(due[0]).to).number == 2);
        CHECK(contains(post(due[0]).text, "INC-2 has had no incident commander for 10m"));
        CHECK(reminders.tick().empty());
        bot.clock.set(k_start + 25 * k_minute_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(k_start + 25 * k_minute_ms);
        CHECK(reminders.tick().size() == 1);

        CHECK(bot.command("role commander", "bob", "C2").reply.ok);
        bot.clock.advance(k_day_ms);
        CHECK(reminders.tick().empty());
    }

    TEST_CASE("post-mortem reminders: before the due date, then daily until published") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.status_update = ReminderPolicy{}.status_update;  // must stay quiet after resolve
        policy.postmortem_before = 2 * k_day_ms;
        policy.postmortem_repeat = k_day_ms;
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        const std::string ch = bot.declare();
        CHECK(bot.command("resolve", "alice", ch).reply.ok);
        CHECK(bot.command("postmortem owner <@U3|carol> due 2026-11-30", "alice", ch).reply.ok);

        const Timestamp due_start = k_day0 + 7 * k_day_ms;  // 2026-11-30T00:00Z
        bot.clock.set(due_start - 2 * k_day_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(due_start - 2 * k_day_ms);
        auto due = reminders.tick();
        REQUIRE(due.size() == 1);
        CHECK(due[0].platform == "test");
        REQUIRE(std::holds_alternative<ToUser>(post(due[0]).to));
        CHECK(std::get<ToUser>(post(due[0]).to).who == Actor{"U3", "carol"});
        CHECK(contains(post(due[0]).text, "is due on 2026-11-30 (in 2d"));
        CHECK(contains(post(due[0]).text, "https://bot.example.com/incidents/INC-1/postmortem"));
        CHECK(reminders.tick().empty());
        bot.clock.set(due_start + 12 * k_hour_ms);  // on the due date itself: nothing more
        CHECK(reminders.tick().empty());

        bot.clock.set(due_start + k_day_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(due_start + k_day_ms);  // the due date is over
        due = reminders.tick();
        REQUIRE(due.size() == 1);
        CHECK(contains(post(due[0]).text, "was due on 2026-11-30 and is not published yet"));
        CHECK(reminders.tick().empty());
        bot.clock.set(due_start + 2 * k_day_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(due_start + 2 * k_day_ms);
        CHECK(reminders.tick().size() == 1);

        CHECK(bot.command("postmortem publish", "alice", ch).reply.ok);
        bot.clock.advance(10 * k_day_ms);
        CHECK(reminders.tick().empty());
    }

    TEST_CASE("post-mortem reminders go to an @name owner, or to the channel without one") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.postmortem_repeat = k_day_ms;
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        const std::string a = bot.declare("A");
        const std::string b = bot.declare("B");
        CHECK(bot.command("resolve", "alice", a).reply.ok);
        CHECK(bot.command("resolve", "alice", b).reply.ok);
        CHECK(bot.command("postmortem owner @dave due 2026-11-20", "alice", a).reply.ok);
        CHECK(bot.command("postmortem due 2026-11-20", "alice", b).reply.ok);
        const auto due = reminders.tick();  // 2026-11-23: both overdue
        REQUIRE(due.size() == 2);
        CHECK(std::get<ToUser>(post(due[0]).to).who == Actor{"dave", "dave"});
        CHECK(std::get<ToIncident>(post(due[1]).to).number == 2);
        CHECK(contains(post(due[1]).text, "no owner yet"));
        // A new due date starts the reminders over.
        CHECK(bot.command("postmortem due 2026-11-21", "alice", a).reply.ok);
        CHECK(reminders.tick().size() == 1);
        // A force-closed incident needs no post-mortem any more.
        CHECK(bot.command("close force no lessons here", "alice", a).reply.ok);
        bot.clock.advance(k_day_ms);
        CHECK(reminders.tick().size() == 1);  // only INC-2
    }

    TEST_CASE("the daily digest lists open incidents and overdue action items, once a day") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.digest_hour = 9;
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        bot.clock.set(k_day0 + 8 * k_hour_ms);
        const std::string ch = bot.declare("Checkout is down");
        CHECK(bot.command("todo add a queue alert @carol due:2026-11-20", "alice", ch).reply.ok);
        CHECK(bot.command("todo later @dave due:2026-12-20", "alice", ch).reply.ok);
        const std::string other = bot.declare("Old one");
        CHECK(bot.command("resolve", "alice", other).reply.ok);
        CHECK(bot.command("postmortem owner @erin due 2026-11-22", "alice", other).reply.ok);

        bot.clock.set(k_day0 + 9 * k_hour_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(k_day0 + 9 * k_hour_ms);
        auto due = reminders.tick();
        REQUIRE(due.size() == 1);
        CHECK(due[0].platform.empty());  // every chat platform
        CHECK(std::holds_alternative<ToAnnouncements>(post(due[0]).to));
        const std::string& text = post(due[0]).text;
        CHECK(contains(text, "Incident digest for 2026-11-23"));
        CHECK(contains(text, "Open incidents (1):\n• INC-1 SEV2 investigating — Checkout is down"));
        CHECK(contains(text, "IC @alice"));
        CHECK(contains(
            text, "Post-mortems past their due date (1):\n• INC-2 due 2026-11-22, owner @erin"));
        CHECK(contains(text, "Overdue action items (1):\n• INC-1 #1 add a queue alert @carol"));
        CHECK_FALSE(contains(text, "later"));
        CHECK(reminders.tick().empty());
        bot.clock.set(k_day0 + 23 * k_hour_ms);
        CHECK(reminders.tick().empty());

        bot.clock.set(k_day0 + k_day_ms + 9 * k_hour_ms - 1);
        CHECK(reminders.tick().empty());
        bot.clock.set(k_day0 + k_day_ms + 9 * k_hour_ms);
        due = reminders.tick();
        REQUIRE(due.size() == 1);
        CHECK(contains(post(due[0]).text, "2026-11-24"));
    }

    TEST_CASE("a quiet day has no digest, and a late start still sends that day's once") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.digest_hour = 9;
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        bot.clock.set(k_day0 + 9 * k_hour_ms);
        CHECK(reminders.tick().empty());
        bot.declare();
        CHECK(reminders.tick().empty());                    // today's digest time has passed
        bot.clock.set(k_day0 + k_day_ms + 22 * k_hour_ms);  // the bot was down all morning
        CHECK(reminders.tick().size() == 1);
        CHECK(reminders.tick().empty());
    }

    TEST_CASE("reminders survive a restart: nothing is sent twice") {
        TempDb db;
        ReminderPolicy policy = quiet_policy();
        policy.status_update[0] = 30 * k_minute_ms;
        policy.postmortem_before = k_day_ms;
        policy.digest_hour = 9;
        {
            FileBot bot(db.path(), k_start, policy);
            REQUIRE(bot.command("declare sev1 Payments down").reply.ok);
            REQUIRE(bot.command("declare sev2 Search slow").reply.ok);
            REQUIRE(bot.command("resolve", "C2").reply.ok);
            REQUIRE(bot.command("postmortem owner @carol due 2026-11-24", "C2").reply.ok);
            bot.clock.set(k_start + 30 * k_minute_ms);
            const auto sent = bot.reminders.tick();
            // The SEV1 nudge, the post-mortem reminder (due tomorrow) and today's digest.
            CHECK(sent.size() == 3);
        }
        {
            FileBot bot(db.path(), k_start + 30 * k_minute_ms + 1000, policy);
            CHECK(bot.reminders.tick().empty());
            bot.clock.set(k_start + 60 * k_minute_ms);
            const auto sent = bot.reminders.tick();
            REQUIRE(sent.size() == 1);
            CHECK(contains(texts(sent)[0], "INC-1 (SEV1) has had no status update for 1h"));
        }
        {
            FileBot bot(db.path(), k_start + 60 * k_minute_ms, policy);
            CHECK(bot.reminders.tick().empty());
        }
    }

    TEST_CASE("a failed tick records nothing") {
        Bot bot;
        ReminderPolicy policy = quiet_policy();
        policy.status_update[1] = k_minute_ms;
        ReminderService reminders(bot.store, bot.service, bot.clock, policy);
        bot.declare();
        bot.clock.advance(k_hour_ms);
        CHECK_THROWS(bot.store.transaction([&] {
            CHECK(reminders.tick().size() == 1);
            throw std::runtime_error("the caller's transaction fails");
        }));
        CHECK(reminders.tick().size() == 1);
    }

    TEST_CASE("owner mentions and dates") {
        CHECK(owner_actor("<@U3|carol>") == Actor{"U3", "carol"});
        CHECK(owner_actor("<@U3>") == Actor{"U3", "U3"});
        CHECK(owner_actor(" @carol ") == Actor{"carol", "carol"});
        CHECK_FALSE(owner_actor(""));
        CHECK_FALSE(owner_actor("carol"));
        CHECK_FALSE(owner_actor("@"));
        CHECK_FALSE(owner_actor("<@|carol>"));
        CHECK(start_of_date("2026-11-23") == k_day0);
        CHECK(start_of_date("1970-01-02") == k_day_ms);
        CHECK_FALSE(start_of_date("2026-02-30"));
        CHECK_FALSE(start_of_date("tomorrow"));
    }

}  // TEST_SUITE
