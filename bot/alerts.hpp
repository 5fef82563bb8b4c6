#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/alert_rules.hpp"
#include "bot/events.hpp"
#include "bot/incident_service.hpp"
#include "bot/store.hpp"
#include "bot/types.hpp"

namespace incident {

// One notification of a monitoring system about one group of alerts, already decoded from
// its wire format (adapters/alerts). A notification carries every alert of the group, known
// ones included; the alerts' id, incident and received_at are left unset.
struct AlertNotification {
    std::string source;  // "alertmanager"
    std::string group_key;
    std::map<std::string, std::string> group_labels;
    std::map<std::string, std::string> common_annotations;
    std::string external_url;  // the source's own page of the group; empty: none
    std::vector<Alert> alerts;
};

// Something a source says about a group that is not an alert (PagerDuty: acknowledged, a
// new priority, a note). `event_id` is the source's delivery id: the same id twice is one
// event.
struct AlertEvent {
    std::string source;
    std::string group_key;
    std::string event_id;
    std::string text;
    Timestamp at = 0;
    // A new priority ("P2"): when the bot set that priority itself (the label
    // k_priority_set_label of the group's alerts), the event changes nothing.
    std::string priority;
};

// The label a follow-up sink puts on an alert group's alerts when it set the source's
// priority, so that the source's echo of the change is not news.
inline constexpr std::string_view k_priority_set_label = "priority_set_by_bot";

struct AlertOptions {
    // The chat platform whose channels incidents opened from alerts get.
    std::string platform = "console";
    // Resolve the incident when every alert of its group is resolved; otherwise the bot
    // only says so and suggests `/incident resolve`.
    bool auto_resolve = false;
    // INCIDENT_BOT_ALERT_RULES: alerts they ignore or announce open no incident.
    std::vector<AlertRule> rules;
};

// What one notification did, for the answer to the source.
struct AlertIntakeResult {
    std::optional<std::int64_t> incident;  // the incident the alerts are on, if any
    bool opened = false;                   // that incident was opened by this notification
    int new_alerts = 0;
    int resolved_alerts = 0;
    int ignored = 0;    // alerts a rule ignores
    int announced = 0;  // alerts a rule sent to the announcement channel (each once)
    std::string note;   // why nothing happened, when nothing did
    Outcome outcome;    // effects to deliver; a DomainError's reply when !outcome.reply.ok
};

// The `severity` label (or PagerDuty's P1-P5 `priority`) as an incident severity: critical ->
// SEV1; high, error, major, page -> SEV2; warning, minor -> SEV3; low, info -> SEV4; anything
// else SEV3.
Severity severity_from_label(std::string_view value);

// The annotation `summary` (common to the group, else of the first firing alert), else the
// alert name and the group labels: "HighErrorRate (service=checkout)".
std::string alert_title(const AlertNotification& notification);

// When a person first acted on an incident opened by a system (a command that left a key
// event on the timeline); nullopt when nobody has yet, or when a person declared it.
std::optional<Timestamp> acknowledged_at(const Incident& incident,
                                         const std::vector<TimelineEntry>& timeline);

// Alerts into incidents: one incident per alert group while it is open, an `alert` timeline
// entry per new alert and per resolution, repeats changing nothing, and a new incident
// (naming the earlier one) when a group fires again after its incident was resolved.
class AlertIntake {
public:
    AlertIntake(IncidentService& service, Store& store, AlertOptions options);

    // Runs `work` (several receive and annotate calls) in one transaction: one commit for a
    // burst of notifications. Their effects reach the listeners once it has committed.
    void batch(const std::function<void()>& work);

    // Everything a notification changes is stored in one transaction before this returns;
    // a storage failure throws and stores nothing (the source should retry).
    AlertIntakeResult receive(const AlertNotification& notification);
    // An `alert` entry on the group's incident (once per event id), posted to its channel
    // while it is open; nothing when the group has no incident.
    AlertIntakeResult annotate(const AlertEvent& event);

private:
    std::optional<Incident> group_incident(const std::string& source, const std::string& group_key,
                                           std::optional<Incident>* latest = nullptr);
    void record_new(Incident& incident, Alert alert, Timestamp now, AlertIntakeResult& result);
    void record_resolved(const Incident& incident, Alert& known, const Alert& update, Timestamp now,
                         AlertIntakeResult& result);
    Incident open(const AlertNotification& notification, const std::vector<const Alert*>& firing,
                  const std::optional<Incident>& earlier, Timestamp now,
                  const std::map<std::string, Severity>& by_rule);
    // Applies the rules: returns the alerts that open or feed an incident, counts the
    // ignored ones, and posts the announced ones (each once) to the announcement channel.
    AlertNotification apply_rules(const AlertNotification& notification, Timestamp now,
                                  std::map<std::string, Severity>& by_rule,
                                  AlertIntakeResult& result);
    void after_resolutions(Incident& incident, const AlertNotification& notification,
                           Timestamp now);

    IncidentService& service_;
    Store& store_;
    AlertOptions options_;
};

}  // namespace incident
