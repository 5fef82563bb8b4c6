#pragma once

#include <string>

#include "bot/clock.hpp"
#include "bot/incident_service.hpp"
#include "bot/reminders.hpp"
#include "commands/router.hpp"
#include "storage/sqlite_store.hpp"

namespace incident::testing {

// 2026-11-23T10:00:00Z
inline constexpr Timestamp k_start = 1'795'428'000'000;

// Every reminder off; a test turns on the ones it is about.
inline ReminderPolicy quiet_policy() {
    ReminderPolicy policy;
    policy.status_update = {0, 0, 0, 0, 0};
    policy.no_commander_after = 0;
    policy.postmortem_before = 0;
    policy.postmortem_repeat = 0;
    policy.digest_hour.reset();
    policy.weekly_digest_weekday.reset();
    policy.review_day_before = 0;
    policy.review_hour_before = 0;
    policy.action_item_reminders = false;
    return policy;
}

// A bot with an in-memory database and a clock the test moves by hand.
struct Bot {
    SqliteStore store{":memory:"};
    ManualClock clock{k_start};
    // The status page components are those of tests/unit/statuspage_test.cpp.
    IncidentService service{
        store, clock, ServiceOptions{"https://bot.example.com", {"API", "Web app", "Payments"}}};
    commands::CommandRouter router{service};
    int requests = 0;
    int events = 0;

    Bot() { commands::register_builtin_commands(router); }

    Outcome command(const std::string& text, const std::string& user = "alice",
                    const std::string& channel = "general") {
        CommandRequest request{"req-" + std::to_string(++requests),
                               "test",
                               channel,
                               channel,
                               Actor{"U-" + user, user},
                               text,
                               clock.now()};
        return run(request);
    }

    Outcome run(const CommandRequest& request) {
        Outcome out = router.dispatch(request);
        for (const auto& effect : out.effects) {
            if (const auto* create = std::get_if<CreateChannel>(&effect)) {
                service.bind_channel(create->incident, "test",
                                     "C" + std::to_string(create->incident), create->name);
            }
        }
        return out;
    }

    // Declares and returns the incident's channel id.
    std::string declare(const std::string& title = "Checkout is down",
                        const std::string& user = "alice") {
        const Outcome out = command("declare sev2 " + title, user);
        REQUIRE_MESSAGE(out.reply.ok, out.reply.text);
        return "C" + std::to_string(service.list(true).front().number);
    }

    Outcome say(const std::string& channel, const std::string& message_id, const std::string& text,
                const std::string& user = "bob", const std::string& event_id = "") {
        MessagePosted m{EventHeader{event_id.empty() ? "ev-" + std::to_string(++events) : event_id,
                                    "test", channel, clock.now()},
                        message_id,
                        "",
                        Actor{"U-" + user, user},
                        text,
                        false};
        return service.handle_event(m);
    }

    Outcome event(ChatEvent e) { return service.handle_event(e); }
    EventHeader header(const std::string& channel) {
        return EventHeader{"ev-" + std::to_string(++events), "test", channel, clock.now()};
    }
};

}  // namespace incident::testing
