#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "bot/store.hpp"
#include "bot/types.hpp"

// Sample rows for the store tests: every field set, or as few as possible.
namespace incident::testing {

inline Incident full_incident() {
    Incident incident;
    incident.number = 99;  // ignored: the store assigns numbers
    incident.title = "Checkout is down — 5xx on /pay";
    incident.severity = Severity::sev1;
    incident.final_severity = Severity::sev2;
    incident.state = State::monitoring;
    incident.platform = "slack";
    incident.channel_id = "C0123";
    incident.channel_name = "inc-1-checkout-is-down";
    incident.declared_by = {"U1", "Alice"};
    incident.declared_at = 1'700'000'000'000;
    incident.identified_at = 1'700'000'060'000;
    incident.mitigated_at = 1'700'000'120'000;
    incident.resolved_at = 1'700'000'180'000;
    incident.closed_at = 1'700'000'240'000;
    incident.last_update_at = 1'700'000'100'000;
    incident.summary = "Payment provider timeouts";
    incident.postmortem_owner = "@bob";
    incident.postmortem_due = "2026-12-01";
    incident.postmortem_published_at = 1'700'000'300'000;
    incident.detected_at = 1'699'999'940'000;
    return incident;
}

inline Incident minimal_incident(std::string title, State state = State::investigating) {
    Incident incident;
    incident.title = std::move(title);
    incident.state = state;
    incident.platform = "console";
    incident.declared_by = {"u", "User"};
    incident.declared_at = 1000;
    incident.last_update_at = 1000;
    return incident;
}

inline void check_same(const Incident& a, const Incident& b) {
    CHECK(a.number == b.number);
    CHECK(a.title == b.title);
    CHECK(a.severity == b.severity);
    CHECK(a.final_severity == b.final_severity);
    CHECK(a.state == b.state);
    CHECK(a.merged_into == b.merged_into);
    CHECK(a.platform == b.platform);
    CHECK(a.channel_id == b.channel_id);
    CHECK(a.channel_name == b.channel_name);
    CHECK(a.declared_by == b.declared_by);
    CHECK(a.declared_at == b.declared_at);
    CHECK(a.identified_at == b.identified_at);
    CHECK(a.mitigated_at == b.mitigated_at);
    CHECK(a.resolved_at == b.resolved_at);
    CHECK(a.closed_at == b.closed_at);
    CHECK(a.last_update_at == b.last_update_at);
    CHECK(a.summary == b.summary);
    CHECK(a.postmortem_owner == b.postmortem_owner);
    CHECK(a.postmortem_due == b.postmortem_due);
    CHECK(a.postmortem_published_at == b.postmortem_published_at);
    CHECK(a.detected_at == b.detected_at);
    CHECK(a.related_to == b.related_to);
}

inline void check_same(const TimelineEntry& a, const TimelineEntry& b) {
    CHECK(a.id == b.id);
    CHECK(a.incident == b.incident);
    CHECK(a.kind == b.kind);
    CHECK(a.at == b.at);
    CHECK(a.author == b.author);
    CHECK(a.text == b.text);
    CHECK(a.message_id == b.message_id);
    CHECK(a.thread_id == b.thread_id);
    CHECK(a.key_event == b.key_event);
    CHECK(a.marked_by_pin == b.marked_by_pin);
    CHECK(a.marked_by_reaction == b.marked_by_reaction);
    CHECK(a.edited_at == b.edited_at);
    CHECK(a.deleted_at == b.deleted_at);
    CHECK(a.previous_texts == b.previous_texts);
}

inline void check_same(const ActionItem& a, const ActionItem& b) {
    CHECK(a.id == b.id);
    CHECK(a.incident == b.incident);
    CHECK(a.number == b.number);
    CHECK(a.text == b.text);
    CHECK(a.owner == b.owner);
    CHECK(a.due == b.due);
    CHECK(a.status == b.status);
    CHECK(a.source == b.source);
    CHECK(a.source_message_id == b.source_message_id);
    CHECK(a.author == b.author);
    CHECK(a.created_at == b.created_at);
    CHECK(a.done_at == b.done_at);
    CHECK(a.kind == b.kind);
}

inline TimelineEntry message(std::int64_t incident, Timestamp at, std::string text,
                             std::string message_id = "") {
    TimelineEntry entry;
    entry.incident = incident;
    entry.kind = EntryKind::message;
    entry.at = at;
    entry.author = {"U2", "Bob"};
    entry.text = std::move(text);
    entry.message_id = std::move(message_id);
    return entry;
}

inline TimelineEntry full_entry(std::int64_t incident) {
    TimelineEntry entry;
    entry.incident = incident;
    entry.kind = EntryKind::note;
    entry.at = 1'700'000'050'000;
    entry.author = {"U2", "Bob"};
    entry.text = "rolled back deploy 4711";
    entry.message_id = "1700000050.000100";
    entry.thread_id = "1700000000.000001";
    entry.key_event = true;
    entry.edited_at = 1'700'000'055'000;
    entry.deleted_at = 1'700'000'056'000;
    entry.previous_texts = {"rolled back deploy", "rolled back deploy 4710"};
    return entry;
}

inline ActionItem full_action(std::int64_t incident) {
    ActionItem item;
    item.incident = incident;
    item.text = "Add a timeout alarm on the payment provider";
    item.owner = "@carol";
    item.due = "2026-12-24";
    item.status = ActionStatus::done;
    item.source = ActionSource::todo_line;
    item.source_message_id = "1700000070.000200";
    item.author = {"U3", "Carol"};
    item.created_at = 1'700'000'070'000;
    item.done_at = 1'700'000'090'000;
    item.kind = ActionKind::preventive;
    return item;
}

inline ActionItem simple_action(std::int64_t incident, std::string text) {
    ActionItem item;
    item.incident = incident;
    item.text = std::move(text);
    item.author = {"U1", "Alice"};
    item.created_at = 5000;
    return item;
}

inline RoleAssignment role(Role r, std::string id, Timestamp at) {
    return {r, {id, "name-" + id}, {"U1", "Alice"}, at};
}

inline Subscription subscription(std::string who, std::optional<std::int64_t> incident,
                                 Severity min_severity) {
    return {"slack", {std::move(who), "Someone"}, incident, min_severity};
}

// Writes one of everything; returns the incident number.
inline std::int64_t populate(Store& store) {
    Incident incident = full_incident();
    store.insert_incident(incident);
    store.assign_role(incident.number, role(Role::commander, "U1", 10));
    store.assign_role(incident.number, role(Role::sme, "U5", 20));
    TimelineEntry entry = full_entry(incident.number);
    store.add_entry(entry);
    ActionItem item = full_action(incident.number);
    store.add_action(item);
    store.subscribe(subscription("U9", incident.number, Severity::sev5));
    store.subscribe(subscription("U9", std::nullopt, Severity::sev2));
    store.mark_processed("slack:Ev1", "Declared INC-1", 1234);
    return incident.number;
}

}  // namespace incident::testing
