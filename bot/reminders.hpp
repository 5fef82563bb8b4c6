#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/clock.hpp"
#include "bot/events.hpp"
#include "bot/incident_service.hpp"
#include "bot/store.hpp"
#include "bot/types.hpp"

namespace incident {

inline constexpr Timestamp k_second_ms = 1000;
inline constexpr Timestamp k_minute_ms = 60 * k_second_ms;
inline constexpr Timestamp k_hour_ms = 60 * k_minute_ms;
inline constexpr Timestamp k_day_ms = 24 * k_hour_ms;

// When the bot reminds people, all in milliseconds; 0 turns a reminder off. Configured
// from INCIDENT_BOT_REMIND_* (bot/config.hpp), in seconds.
struct ReminderPolicy {
    // No status update for this long (per severity, SEV1 first): a nudge in the incident
    // channel, repeated every interval while nobody posts one.
    std::array<Timestamp, 5> status_update{30 * k_minute_ms, 60 * k_minute_ms, 4 * k_hour_ms,
                                           24 * k_hour_ms, 0};
    // No commander this long after the declaration: a nudge, then one every repeat.
    Timestamp no_commander_after = 10 * k_minute_ms;
    Timestamp no_commander_repeat = 10 * k_minute_ms;
    // A direct message to the post-mortem owner this long before the due date (its 00:00 UTC),
    // then, once the due date is over, one every repeat until the post-mortem is published.
    // The post-mortem of a force-closed incident is no longer asked for.
    Timestamp postmortem_before = 2 * k_day_ms;
    Timestamp postmortem_repeat = k_day_ms;
    // The daily digest to the announcement channel at this UTC hour; nullopt: no digest.
    std::optional<int> digest_hour = 9;
    // The weekly digest of open and overdue action items by owner, on this weekday (0 Sunday
    // ... 6 Saturday) at digest_hour; nullopt: none.
    std::optional<int> weekly_digest_weekday = 1;
    // Direct messages to the roles this long before the post-mortem review (0: not sent).
    Timestamp review_day_before = k_day_ms;
    Timestamp review_hour_before = k_hour_ms;
    // Direct messages to an action item's owner the day before it is due and once it is
    // overdue.
    bool action_item_reminders = true;
    // How often the bot calls ReminderService::tick().
    Timestamp tick = 30 * k_second_ms;

    Timestamp status_interval(Severity severity) const {
        return status_update[static_cast<std::size_t>(severity) - 1];
    }
};

// A post for the chat adapter of `platform` (the incident's). The digest has an empty
// platform: every chat adapter posts it to its own announcement channel.
struct Reminder {
    std::string platform;
    Effect effect;
    // Written into the service's outbox in the tick's transaction: its delivery worker sends
    // it, the caller only wakes that worker. False: the caller delivers it.
    bool durable = false;
};

// The post-mortem owner is stored as typed: "<@U123|carol>", "<@U123>" or "@carol". The DM
// goes to the Actor that `/incident role ... @user` would have made of the same text.
std::optional<Actor> owner_actor(std::string_view owner);

// 00:00 UTC of a YYYY-MM-DD date.
std::optional<Timestamp> start_of_date(std::string_view date);

// Status-update nudges, no-commander nudges, post-mortem reminders and the daily digest.
// Each tick is one transaction that records every reminder it returns, so a reminder is
// sent at most once, also across restarts. A bot that was down does not catch up: it sends
// what is due now, once.
class ReminderService {
public:
    ReminderService(Store& store, IncidentService& service, const Clock& clock,
                    ReminderPolicy policy = {});

    std::vector<Reminder> tick();

    const ReminderPolicy& policy() const { return policy_; }
    // This process held the "reminders" lease at its last tick.
    bool leading() const { return leading_; }

    // How many ticks the "reminders" lease outlives the last tick of its holder.
    static constexpr Timestamp k_lease_ticks = 3;

private:
    void status_nudge(const Incident& incident, Timestamp now, std::vector<Reminder>& out);
    void commander_nudge(const Incident& incident, Timestamp now, std::vector<Reminder>& out);
    void postmortem_reminder(const Incident& incident, Timestamp now, std::vector<Reminder>& out);
    void digest(Timestamp now, std::vector<Reminder>& out);
    void review_reminder(const Incident& incident, Timestamp now, std::vector<Reminder>& out);
    void action_reminders(const Incident& incident, Timestamp now, std::vector<Reminder>& out);
    void weekly_digest(Timestamp now, std::vector<Reminder>& out);
    bool record(const std::string& key, std::string_view kind, std::optional<std::int64_t> incident,
                Timestamp now);

    Store& store_;
    IncidentService& service_;
    const Clock& clock_;
    ReminderPolicy policy_;
    bool leading_ = false;
};

}  // namespace incident
