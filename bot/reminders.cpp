#include "bot/reminders.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "bot/people.hpp"
#include "bot/text.hpp"

namespace incident {

namespace {

constexpr std::string_view k_status = "status";
constexpr std::string_view k_no_commander = "no_commander";
constexpr std::string_view k_postmortem = "postmortem";
constexpr std::string_view k_digest = "digest";
constexpr std::string_view k_review = "review";
constexpr std::string_view k_action = "action";
constexpr std::string_view k_weekly = "weekly_digest";

std::string date_of(Timestamp at) {
    return format_time(at).substr(0, 10);
}

std::optional<Actor> commander_of(const std::vector<RoleAssignment>& roles) {
    for (const auto& r : roles) {
        if (r.role == Role::commander) return r.person;
    }
    return std::nullopt;
}

std::string channel_hint(const Incident& incident) {
    return incident.channel_name.empty() ? incident.key() : "#" + incident.channel_name;
}

}  // namespace

std::optional<Actor> owner_actor(std::string_view owner) {
    return parse_mention(trim(owner));
}

std::optional<Timestamp> start_of_date(std::string_view date) {
    return parse_utc_minute(date, "00:00");
}

bool Store::record_reminder(const SentReminder&) {
    throw std::logic_error("this store keeps no reminders");
}
bool Store::reminder_sent(std::string_view) {
    throw std::logic_error("this store keeps no reminders");
}
std::optional<Timestamp> Store::last_reminder(std::int64_t, std::string_view) {
    throw std::logic_error("this store keeps no reminders");
}

ReminderService::ReminderService(Store& store, IncidentService& service, const Clock& clock,
                                 ReminderPolicy policy)
    : store_(store), service_(service), clock_(clock), policy_(policy) {}

std::vector<Reminder> ReminderService::tick() {
    std::vector<Reminder> out;
    const Timestamp now = clock_.now();
    try {
        store_.transaction([&] {
            // Among replicas one sends reminders. Its lease lasts a few ticks: when it stops,
            // another one takes over within that time.
            const Outbox* outbox = service_.outbox();
            leading_ = store_.hold_lease("reminders", outbox ? outbox->owner() : "local", now,
                                         now + k_lease_ticks * policy_.tick);
            if (!leading_) return;
            // Open and resolved incidents, oldest first; closed and merged ones are left alone.
            auto incidents = store_.incidents(false);
            std::reverse(incidents.begin(), incidents.end());
            for (const auto& incident : incidents) {
                if (incident.is_open()) {
                    status_nudge(incident, now, out);
                    commander_nudge(incident, now, out);
                } else if (incident.state == State::resolved) {
                    postmortem_reminder(incident, now, out);
                }
            }
            // Follow-up outlives the incident: reviews and action items of closed incidents
            // are still reminded.
            for (const auto& incident : store_.incidents(true)) {
                if (incident.state == State::merged) continue;
                review_reminder(incident, now, out);
                action_reminders(incident, now, out);
            }
            digest(now, out);
            weekly_digest(now, out);
            // Recorded as sent and queued for sending in one commit, or neither.
            if (Outbox* outbox = service_.outbox()) {
                for (auto& r : out) {
                    const auto* post = std::get_if<PostMessage>(&r.effect);
                    const auto* about = post ? std::get_if<ToIncident>(&post->to) : nullptr;
                    r.durable = outbox->write(r.effect, r.platform, about ? about->number : 0) > 0;
                }
            }
        });
    } catch (...) {
        out.clear();  // rolled back: nothing was recorded, so nothing may be sent
        leading_ = false;
        throw;
    }
    if (Outbox* outbox = service_.outbox()) outbox->wake_written();
    return out;
}

bool ReminderService::record(const std::string& key, std::string_view kind,
                             std::optional<std::int64_t> incident, Timestamp now) {
    return store_.record_reminder(SentReminder{key, std::string(kind), incident, now});
}

void ReminderService::status_nudge(const Incident& incident, Timestamp now,
                                   std::vector<Reminder>& out) {
    const Timestamp interval = policy_.status_interval(incident.severity);
    // Without a channel there is nowhere to post; the nudge waits for one.
    if (interval <= 0 || incident.channel_id.empty()) return;
    Timestamp since = incident.last_update_at;
    if (const auto last = store_.last_reminder(incident.number, k_status); last && *last > since) {
        since = *last;
    }
    if (now < since + interval) return;
    if (!record("status:" + std::to_string(incident.number) + ":" + std::to_string(now), k_status,
                incident.number, now)) {
        return;
    }
    std::string text = "⏰ " + incident.key() + " (" + std::string(to_string(incident.severity)) +
                       ") has had no status update for " +
                       format_duration(incident.last_update_at, now) + ".";
    const auto commander = commander_of(store_.roles(incident.number));
    text += commander ? " " + mention(*commander) + ", please" : " Please";
    text += " tell stakeholders where things stand: `/incident update <text>`.";
    out.push_back({incident.platform, PostMessage{ToIncident{incident.number}, text}});
}

void ReminderService::commander_nudge(const Incident& incident, Timestamp now,
                                      std::vector<Reminder>& out) {
    if (policy_.no_commander_after <= 0 || incident.channel_id.empty()) return;
    if (commander_of(store_.roles(incident.number))) return;
    Timestamp due = incident.declared_at + policy_.no_commander_after;
    if (const auto last = store_.last_reminder(incident.number, k_no_commander)) {
        if (policy_.no_commander_repeat <= 0) return;
        due = *last + policy_.no_commander_repeat;
    }
    if (now < due) return;
    if (!record("no_commander:" + std::to_string(incident.number) + ":" + std::to_string(now),
                k_no_commander, incident.number, now)) {
        return;
    }
    out.push_back({incident.platform,
                   PostMessage{ToIncident{incident.number},
                               "⚠️ " + incident.key() + " has had no incident commander for " +
                                   format_duration(incident.declared_at, now) +
                                   ". Someone take the lead: `/incident role commander` "
                                   "(or `/incident role commander @user`)."}});
}

void ReminderService::postmortem_reminder(const Incident& incident, Timestamp now,
                                          std::vector<Reminder>& out) {
    if (!incident.postmortem_due || incident.postmortem_published_at) return;
    const auto due_start = start_of_date(*incident.postmortem_due);
    if (!due_start) return;
    const Timestamp due_end = *due_start + k_day_ms;
    const std::string base =
        "postmortem:" + std::to_string(incident.number) + ":" + *incident.postmortem_due + ":";
    std::string key;
    std::string text;
    const std::string about = "the post-mortem of " + incident.key() + " (" + incident.title + ")";
    if (now >= due_end) {
        if (policy_.postmortem_repeat <= 0) return;
        // One reminder per repeat interval after the due date; a new due date starts over.
        const Timestamp slot = (now - due_end) / policy_.postmortem_repeat;
        key = base + "overdue:" + std::to_string(slot);
        text = "📝 " + about + " was due on " + *incident.postmortem_due +
               " and is not published yet (overdue by " + format_duration(due_end, now) + ").";
    } else if (policy_.postmortem_before > 0 && now >= *due_start - policy_.postmortem_before) {
        key = base + "before";
        text = "📝 Reminder: " + about + " is due on " + *incident.postmortem_due + " (in " +
               format_duration(now, *due_start) + ").";
    } else {
        return;
    }
    const auto owner = owner_actor(incident.postmortem_owner);
    // Nobody to tell: the reminder waits for an owner or a channel rather than being lost.
    if (!owner && incident.channel_id.empty()) return;
    if (!record(key, k_postmortem, incident.number, now)) return;
    if (const auto link = service_.incident_link(incident); !link.empty()) {
        text += " Draft: " + link + "/postmortem.";
    }
    text +=
        " When it is reviewed: `/incident postmortem publish` in " + channel_hint(incident) + ".";
    if (owner) {
        out.push_back({incident.platform, PostMessage{ToUser{*owner}, text}});
    } else {
        text += " It has no owner yet: `/incident postmortem owner @user`.";
        out.push_back({incident.platform, PostMessage{ToIncident{incident.number}, text}});
    }
}

void ReminderService::review_reminder(const Incident& incident, Timestamp now,
                                      std::vector<Reminder>& out) {
    const auto at = current_sections(store_.revisions(incident.number)).review_at();
    if (!at || now >= *at) return;
    std::string when;
    std::string slot;
    const std::string hhmm = format_time(*at).substr(11, 5);
    if (policy_.review_hour_before > 0 && now >= *at - policy_.review_hour_before) {
        slot = "hour";
        when = "in " + format_duration(now, *at) + ", at " + hhmm + " UTC";
    } else if (policy_.review_day_before > 0 && now >= *at - policy_.review_day_before) {
        slot = "day";
        when = "on " + date_of(*at) + " at " + hhmm + " UTC (in " + format_duration(now, *at) + ")";
    } else {
        return;
    }
    // A rescheduled review is a new meeting with its own reminders.
    const std::string key =
        "review:" + std::to_string(incident.number) + ":" + std::to_string(*at) + ":" + slot;
    std::vector<Actor> people;
    for (const auto& role : store_.roles(incident.number)) {
        const bool seen = std::any_of(people.begin(), people.end(),
                                      [&](const Actor& a) { return a.id == role.person.id; });
        if (!seen) people.push_back(role.person);
    }
    if (const auto owner = owner_actor(incident.postmortem_owner)) {
        const bool seen = std::any_of(people.begin(), people.end(), [&](const Actor& a) {
            return mentions(incident.postmortem_owner, a);
        });
        if (!seen) people.push_back(*owner);
    }
    if (people.empty() || !record(key, k_review, incident.number, now)) return;
    std::string text = "🗓 Reminder: the post-mortem review of " + incident.key() + " (" +
                       incident.title + ") is " + when + ".";
    if (const auto link = service_.incident_link(incident); !link.empty()) {
        text += " Draft: " + link + "/postmortem · calendar: " + link + "/review.ics";
    }
    for (const auto& person_ : people) {
        out.push_back({incident.platform, PostMessage{ToUser{person_}, text}});
    }
}

void ReminderService::action_reminders(const Incident& incident, Timestamp now,
                                       std::vector<Reminder>& out) {
    if (!policy_.action_item_reminders) return;
    const std::string today = date_of(now);
    const std::string tomorrow = date_of(now + k_day_ms);
    for (const auto& item : store_.actions(incident.number)) {
        if (item.status != ActionStatus::open || !item.due) continue;
        const auto owner = owner_actor(item.owner);
        if (!owner) continue;  // nobody to tell: the daily digest lists it
        const std::string what =
            std::string(item.kind == ActionKind::preventive ? "Preventive measure "
                                                            : "Action item ") +
            std::to_string(item.number) + " of " + incident.key() + " (" + item.text + ")";
        std::string slot, text;
        if (*item.due == tomorrow) {
            slot = "due_tomorrow";
            text = "⏳ " + what + " is due tomorrow, " + *item.due + ".";
        } else if (*item.due < today) {
            slot = "overdue";
            text = "⚠️ " + what + " was due on " + *item.due + " and is still open.";
        } else {
            continue;
        }
        // Once per item, kind and due date: a new due date is a new promise.
        const std::string key = "action:" + std::to_string(incident.number) + ":" +
                                std::to_string(item.number) + ":" + slot + ":" + *item.due;
        if (!record(key, k_action, incident.number, now)) continue;
        text += " Done? `/incident done " + incident.key() + " " + std::to_string(item.number) +
                "`; all of yours: `/incident mine`.";
        out.push_back({incident.platform, PostMessage{ToUser{*owner}, text}});
    }
}

void ReminderService::weekly_digest(Timestamp now, std::vector<Reminder>& out) {
    if (!policy_.digest_hour || !policy_.weekly_digest_weekday) return;
    const Timestamp day_start = now - now % k_day_ms;
    // 1970-01-01 was a Thursday.
    const int weekday = static_cast<int>((now / k_day_ms + 4) % 7);
    if (weekday != *policy_.weekly_digest_weekday) return;
    if (now < day_start + *policy_.digest_hour * k_hour_ms) return;
    const std::string today = date_of(now);
    const std::string key = "weekly_digest:" + today;
    if (store_.reminder_sent(key)) return;

    // owner (as written, "unassigned" when empty) -> lines, owners in first-seen order
    std::vector<std::pair<std::string, std::vector<std::string>>> by_owner;
    int open = 0, overdue = 0;
    auto incidents = store_.incidents(true);
    std::reverse(incidents.begin(), incidents.end());
    for (const auto& inc : incidents) {
        for (const auto& item : store_.actions(inc.number)) {
            if (item.status != ActionStatus::open) continue;
            const bool late = item.due && *item.due < today;
            ++open;
            overdue += late;
            const std::string owner = item.owner.empty() ? "unassigned" : item.owner;
            auto group = std::find_if(by_owner.begin(), by_owner.end(),
                                      [&](const auto& g) { return g.first == owner; });
            if (group == by_owner.end()) {
                by_owner.push_back({owner, {}});
                group = std::prev(by_owner.end());
            }
            std::string line = "  • " + inc.key() + " #" + std::to_string(item.number) + " " +
                               (item.kind == ActionKind::preventive ? "(preventive) " : "") +
                               item.text;
            if (item.due)
                line += late ? " — OVERDUE since " + *item.due : " (due " + *item.due + ")";
            group->second.push_back(line);
        }
    }
    if (open == 0 || !record(key, k_weekly, std::nullopt, now)) return;
    std::string text = "📋 Weekly follow-up, " + today + ": " + std::to_string(open) +
                       " open action items and preventive measures (" + std::to_string(overdue) +
                       " overdue), by owner:";
    for (const auto& [owner, lines] : by_owner) {
        text += "\n" + owner + " (" + std::to_string(lines.size()) + "):";
        for (const auto& line : lines) text += "\n" + line;
    }
    out.push_back({"", PostMessage{ToAnnouncements{}, text}});
}

void ReminderService::digest(Timestamp now, std::vector<Reminder>& out) {
    if (!policy_.digest_hour) return;
    const Timestamp day_start = now - now % k_day_ms;
    if (now < day_start + *policy_.digest_hour * k_hour_ms) return;
    const std::string today = date_of(now);
    const std::string key = "digest:" + today;
    if (store_.reminder_sent(key) || !record(key, k_digest, std::nullopt, now)) return;

    std::vector<std::string> open, postmortems, actions;
    auto incidents = store_.incidents(true);
    // Oldest first reads like a backlog.
    std::reverse(incidents.begin(), incidents.end());
    for (const auto& inc : incidents) {
        if (inc.is_open()) {
            std::string line = "• " + inc.key() + " " + std::string(to_string(inc.severity)) + " " +
                               std::string(to_string(inc.state)) + " — " + inc.title;
            if (!inc.channel_name.empty()) line += " (#" + inc.channel_name + ")";
            if (const auto ic = commander_of(store_.roles(inc.number))) {
                line += " · IC " + mention(*ic);
            } else {
                line += " · no commander";
            }
            line += " · open " + format_duration(inc.declared_at, now) + ", last update " +
                    format_duration(inc.last_update_at, now) + " ago";
            open.push_back(line);
        }
        if (inc.state == State::resolved && !inc.postmortem_published_at && inc.postmortem_due &&
            *inc.postmortem_due < today) {
            postmortems.push_back(
                "• " + inc.key() + " due " + *inc.postmortem_due + ", owner " +
                (inc.postmortem_owner.empty() ? std::string("unassigned") : inc.postmortem_owner));
        }
        for (const auto& item : store_.actions(inc.number)) {
            if (item.status != ActionStatus::open || !item.due || *item.due >= today) continue;
            std::string line =
                "• " + inc.key() + " #" + std::to_string(item.number) + " " + item.text;
            if (!item.owner.empty() && item.text.find(item.owner) == std::string::npos) {
                line += " — " + item.owner;
            }
            actions.push_back(line + " (due " + *item.due + ")");
        }
    }
    // A quiet day gets no digest: an all-clear every morning would teach people to ignore it.
    if (open.empty() && postmortems.empty() && actions.empty()) return;
    std::string text = "📋 Incident digest for " + today + " (UTC)";
    const auto section = [&text](const std::string& title, const std::vector<std::string>& lines) {
        if (lines.empty()) return;
        text += "\n" + title + " (" + std::to_string(lines.size()) + "):";
        for (const auto& line : lines) text += "\n" + line;
    };
    section("Open incidents", open);
    section("Post-mortems past their due date", postmortems);
    section("Overdue action items", actions);
    out.push_back({"", PostMessage{ToAnnouncements{}, text}});
}

}  // namespace incident
