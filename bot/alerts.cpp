#include "bot/alerts.hpp"

#include <algorithm>

#include "bot/text.hpp"

namespace incident {

namespace {

constexpr std::size_t k_max_title = 200;
constexpr std::size_t k_listed_alerts = 10;  // in the opening message; the rest are counted
constexpr std::size_t k_max_entry = 4000;

std::string value_of(const std::map<std::string, std::string>& map, const std::string& key) {
    const auto it = map.find(key);
    return it == map.end() ? std::string() : std::string(trim(it->second));
}

std::string label_list(const std::map<std::string, std::string>& labels,
                       std::string_view skip = {}) {
    std::string out;
    for (const auto& [name, value] : labels) {
        if (name == skip) continue;
        out += (out.empty() ? "" : ", ") + name + "=" + value;
    }
    return out;
}

// "HighErrorRate {instance=web-1:9090, service=checkout}": what names one alert.
std::string alert_name(const Alert& alert) {
    std::string name = value_of(alert.labels, "alertname");
    if (name.empty()) name = "alert " + alert.fingerprint;
    const std::string labels = label_list(alert.labels, "alertname");
    return labels.empty() ? name : name + " {" + labels + "}";
}

// The timeline text of a firing or resolved alert: its labels, annotations and link.
std::string entry_text(const Alert& alert, bool resolved) {
    std::string text = std::string(resolved ? "Resolved" : "Firing") + ": " + alert_name(alert);
    if (resolved && alert.ends_at) text += " (ended " + format_time(*alert.ends_at) + ")";
    if (!resolved) {
        text += " (since " + format_time(alert.starts_at) + ")";
        for (const auto& [name, value] : alert.annotations) text += "\n" + name + ": " + value;
    }
    if (!alert.url.empty()) text += "\n" + alert.url;
    return truncate_utf8(text, k_max_entry);
}

std::string entry_id(const Alert& alert, bool resolved) {
    return "alert:" + alert.source + ":" + alert.fingerprint + ":" +
           std::to_string(alert.starts_at) + (resolved ? ":resolved" : ":firing");
}

Alert* find_known(std::vector<Alert>& known, const Alert& alert) {
    for (auto& k : known) {
        if (k.source == alert.source && k.fingerprint == alert.fingerprint &&
            k.starts_at == alert.starts_at) {
            return &k;
        }
    }
    return nullptr;
}

// A DomainError rolled everything back: report nothing as done.
AlertIntakeResult rolled_back(AlertIntakeResult result) {
    if (result.outcome.reply.ok) return result;
    AlertIntakeResult failed;
    failed.outcome = std::move(result.outcome);
    return failed;
}

// An alert as its rule sees it: its labels, and the group's where it has none of its own.
std::map<std::string, std::string> rule_labels(const Alert& alert, const AlertNotification& n) {
    std::map<std::string, std::string> labels = alert.labels;
    labels.insert(n.group_labels.begin(), n.group_labels.end());
    return labels;
}

std::string alert_identity(const Alert& alert) {
    return alert.source + ":" + alert.fingerprint + ":" + std::to_string(alert.starts_at);
}

}  // namespace

Severity severity_from_label(std::string_view value) {
    const std::string v = to_lower(trim(value));
    if (v == "critical" || v == "p1") return Severity::sev1;
    if (v == "high" || v == "error" || v == "major" || v == "page" || v == "p2") {
        return Severity::sev2;
    }
    if (v == "warning" || v == "minor" || v == "p3") return Severity::sev3;
    if (v == "low" || v == "info" || v == "p4") return Severity::sev4;
    if (v == "p5") return Severity::sev5;
    return Severity::sev3;
}

std::string alert_title(const AlertNotification& n) {
    std::string title = value_of(n.common_annotations, "summary");
    if (title.empty()) {
        for (const auto& alert : n.alerts) {
            if (!alert.firing()) continue;
            title = value_of(alert.annotations, "summary");
            break;
        }
    }
    if (title.empty()) {
        title = value_of(n.group_labels, "alertname");
        if (title.empty()) {
            for (const auto& alert : n.alerts) {
                title = value_of(alert.labels, "alertname");
                if (!title.empty()) break;
            }
        }
        const std::string labels = label_list(n.group_labels, "alertname");
        if (title.empty()) title = "Alert from " + n.source;
        if (!labels.empty()) title += " (" + labels + ")";
    }
    // One line: a title with a line break would break the channel topic.
    std::replace_if(
        title.begin(), title.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return truncate_utf8(title, k_max_title);
}

std::optional<Timestamp> acknowledged_at(const Incident& incident,
                                         const std::vector<TimelineEntry>& timeline) {
    if (!is_system(incident.declared_by)) return std::nullopt;
    for (const auto& e : timeline) {
        if (e.kind == EntryKind::message || is_system(e.author)) continue;
        return e.at;
    }
    return std::nullopt;
}

AlertIntake::AlertIntake(IncidentService& service, Store& store, AlertOptions options)
    : service_(service), store_(store), options_(std::move(options)) {}

// The group's newest incident, or the incident it was merged into.
std::optional<Incident> AlertIntake::group_incident(const std::string& source,
                                                    const std::string& group_key,
                                                    std::optional<Incident>* latest) {
    std::optional<Incident> found;
    if (const auto number = store_.alert_group_incident(source, group_key)) {
        found = store_.incident(*number);
    }
    if (latest) *latest = found;
    for (int hops = 0; found && found->state == State::merged && found->merged_into && hops < 16;
         ++hops) {
        found = store_.incident(*found->merged_into);
    }
    return found;
}

void AlertIntake::batch(const std::function<void()>& work) {
    service_.batch(work);
}

AlertIntakeResult AlertIntake::annotate(const AlertEvent& e) {
    AlertIntakeResult result;
    result.outcome = service_.execute("", [&] {
        const auto incident = group_incident(e.source, e.group_key);
        if (!incident) {
            result.note = "no incident: nothing of this group was received before";
            return Reply{};
        }
        result.incident = incident->number;
        if (!e.priority.empty()) {
            for (const Alert& a : store_.alerts(incident->number)) {
                if (a.source == e.source && a.group_key == e.group_key &&
                    value_of(a.labels, std::string(k_priority_set_label)) == e.priority) {
                    result.note = "nothing new: the bot set that priority itself";
                    return Reply{};
                }
            }
        }
        const std::string text = truncate_utf8(e.text, k_max_entry);
        if (!service_.add_key_event(*incident, EntryKind::alert, system_actor(e.source),
                                    service_.now(), text, "event:" + e.source + ":" + e.event_id)) {
            result.note = "nothing new: the event was received before";
            return Reply{};
        }
        if (incident->is_open()) {
            service_.queue(PostMessage{ToIncident{incident->number}, "📟 " + text});
        }
        return Reply{};
    });
    return rolled_back(std::move(result));
}

AlertNotification AlertIntake::apply_rules(const AlertNotification& n, Timestamp now,
                                           std::map<std::string, Severity>& by_rule,
                                           AlertIntakeResult& result) {
    if (options_.rules.empty()) return n;
    AlertNotification kept = n;
    kept.alerts.clear();
    std::string announcement;
    for (const Alert& alert : n.alerts) {
        const AlertRule* rule = first_matching(options_.rules, rule_labels(alert, n));
        if (!rule || rule->action == AlertRule::Action::open) {
            if (rule && rule->severity) by_rule[alert_identity(alert)] = *rule->severity;
            kept.alerts.push_back(alert);
        } else if (rule->action == AlertRule::Action::ignore) {
            ++result.ignored;
        } else {
            // Once per alert and status: Alertmanager repeats groups, and retries.
            const std::string key = "announced:" + entry_id(alert, !alert.firing());
            if (store_.processed(key)) continue;
            store_.mark_processed(key, "", now);
            ++result.announced;
            announcement += "\n• " + entry_text(alert, !alert.firing());
        }
    }
    if (!announcement.empty()) {
        service_.queue(PostMessage{ToAnnouncements{}, "🔔 " + n.source + ":" + announcement});
    }
    return kept;
}

AlertIntakeResult AlertIntake::receive(const AlertNotification& input) {
    AlertIntakeResult result;
    result.outcome = service_.execute("", [&] {
        const Timestamp now = service_.now();
        std::map<std::string, Severity> by_rule;
        const AlertNotification n = apply_rules(input, now, by_rule, result);
        std::optional<Incident> latest;
        std::optional<Incident> target = group_incident(n.source, n.group_key, &latest);
        std::vector<Alert> known;
        if (latest) known = store_.alerts(latest->number);
        if (target && latest && target->number != latest->number) {
            const auto more = store_.alerts(target->number);
            known.insert(known.end(), more.begin(), more.end());
        }

        std::vector<const Alert*> fresh;  // not seen on the group's incident before
        std::vector<std::pair<Alert*, const Alert*>> resolutions;
        for (const auto& alert : n.alerts) {
            Alert* seen = find_known(known, alert);
            if (!seen) {
                fresh.push_back(&alert);
            } else if (seen->firing() && !alert.firing()) {
                resolutions.emplace_back(seen, &alert);
            }
        }
        const bool any_firing =
            std::any_of(fresh.begin(), fresh.end(), [](const Alert* a) { return a->firing(); });
        if (any_firing && !(target && target->is_open())) {
            std::vector<const Alert*> firing;
            for (const Alert* a : fresh) {
                if (a->firing()) firing.push_back(a);
            }
            target = open(n, firing, target, now, by_rule);
            result.opened = true;
        }
        if (target && (any_firing || target->is_open())) {
            for (const Alert* alert : fresh) record_new(*target, *alert, now, result);
        }
        for (auto& [seen, update] : resolutions) {
            auto owner = seen->incident == (target ? target->number : 0)
                             ? target
                             : store_.incident(seen->incident);
            if (owner) record_resolved(*owner, *seen, *update, now, result);
        }
        if (target) {
            result.incident = target->number;
            if (!result.opened && result.resolved_alerts > 0 && target->is_open()) {
                after_resolutions(*target, n, now);
            }
        }
        if (result.new_alerts == 0 && result.resolved_alerts == 0) {
            result.note = result.ignored + result.announced > 0
                              ? "no incident: the rules ignored " + std::to_string(result.ignored) +
                                    " and announced " + std::to_string(result.announced) +
                                    " alert(s)"
                          : !target ? "no incident: the group has no firing alert"
                                    : "nothing new: every alert was known";
        }
        return Reply{};
    });
    return rolled_back(std::move(result));
}

Incident AlertIntake::open(const AlertNotification& n, const std::vector<const Alert*>& firing,
                           const std::optional<Incident>& earlier, Timestamp now,
                           const std::map<std::string, Severity>& by_rule) {
    Severity severity = Severity::sev5;
    Timestamp detected = now;
    for (const Alert* alert : firing) {
        std::string label = value_of(alert->labels, "severity");
        if (label.empty()) label = value_of(alert->labels, "priority");
        const auto ruled = by_rule.find(alert_identity(*alert));
        severity =
            std::min(severity, ruled != by_rule.end() ? ruled->second : severity_from_label(label));
        detected = std::min(detected, alert->starts_at);
    }
    DeclareOptions how;
    how.take_command = false;
    how.detected_at = detected;
    if (earlier) how.related_to = earlier->number;
    const Actor by = system_actor(n.source);
    Incident incident = service_.declare(by, severity, alert_title(n), options_.platform, now, how);

    std::string message = "🚨 " + incident.key() + " (" + std::string(to_string(severity)) +
                          ") was opened by " + n.source + ": " + incident.title + "\n";
    message += "Firing:";
    for (std::size_t i = 0; i < firing.size() && i < k_listed_alerts; ++i) {
        message += "\n• " + alert_name(*firing[i]);
        if (!firing[i]->url.empty()) message += " — " + firing[i]->url;
    }
    if (firing.size() > k_listed_alerts) {
        message += "\n• and " + std::to_string(firing.size() - k_listed_alerts) + " more";
    }
    if (!n.external_url.empty()) message += "\n" + n.source + ": " + n.external_url;
    if (earlier) {
        message += "\nThis alert group fired before: " + earlier->key() + " (" + earlier->title +
                   ", " + std::string(to_string(earlier->state)) + ").";
        service_.add_key_event(
            incident, EntryKind::note, by, now,
            "Related to " + earlier->key() + ": the same alert group fired before.");
    }
    message +=
        "\nNobody is in command yet: `/incident role commander` takes command (or names "
        "someone: `/incident role commander @name`).";
    service_.queue(PostMessage{ToIncident{incident.number}, truncate_utf8(message, 40'000)});
    return incident;
}

void AlertIntake::record_new(Incident& incident, Alert alert, Timestamp now,
                             AlertIntakeResult& result) {
    alert.incident = incident.number;
    alert.received_at = now;
    if (!store_.add_alert(alert)) return;
    const Actor by = system_actor(alert.source);
    const bool resolved = !alert.firing();
    service_.add_key_event(incident, EntryKind::alert, by, now, entry_text(alert, resolved),
                           entry_id(alert, resolved));
    if (resolved) {
        ++result.resolved_alerts;
        return;
    }
    ++result.new_alerts;
    // The opening message lists the alerts it was opened with.
    if (!result.opened) {
        service_.queue(PostMessage{ToIncident{incident.number}, "🔔 " + entry_text(alert, false)});
    }
    if (!incident.detected_at || alert.starts_at < *incident.detected_at) {
        incident.detected_at = alert.starts_at;
        store_.update_incident(incident);
    }
}

void AlertIntake::record_resolved(const Incident& incident, Alert& known, const Alert& update,
                                  Timestamp now, AlertIntakeResult& result) {
    known.status = update.status;
    known.ends_at = update.ends_at;
    if (!update.annotations.empty()) known.annotations = update.annotations;
    store_.update_alert(known);
    const std::string text = entry_text(known, true);
    if (!service_.add_key_event(incident, EntryKind::alert, system_actor(known.source), now, text,
                                entry_id(known, true))) {
        return;
    }
    ++result.resolved_alerts;
    if (incident.is_open()) {
        service_.queue(PostMessage{ToIncident{incident.number}, "✅ " + text});
    }
}

void AlertIntake::after_resolutions(Incident& incident, const AlertNotification& n, Timestamp now) {
    const auto alerts = store_.alerts(incident.number);
    const bool all_resolved =
        std::none_of(alerts.begin(), alerts.end(), [](const Alert& a) { return a.firing(); });
    if (!all_resolved) return;
    const std::string count = std::to_string(alerts.size());
    if (options_.auto_resolve) {
        service_.queue(PostMessage{ToIncident{incident.number},
                                   "✅ All " + count + " alert(s) of " + incident.key() +
                                       " are resolved; resolving the incident "
                                       "(INCIDENT_BOT_ALERTS_AUTO_RESOLVE)."});
        service_.resolve(incident, "all alerts resolved (" + n.source + ")", std::nullopt,
                         system_actor(n.source), now);
        return;
    }
    service_.queue(PostMessage{ToIncident{incident.number},
                               "✅ All " + count + " alert(s) of " + incident.key() +
                                   " are resolved. When the service is healthy: `/incident "
                                   "resolve <summary>`."});
}

}  // namespace incident
