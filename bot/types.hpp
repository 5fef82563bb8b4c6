#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace incident {

// Unix epoch milliseconds, UTC. Plain integers keep storage, JSON and tests trivial.
using Timestamp = std::int64_t;

// A rule of the incident process was broken (illegal transition, bad argument, ...).
// The message is shown to the user as is, so it must say what to do instead.
class DomainError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Severity { sev1 = 1, sev2, sev3, sev4, sev5 };
enum class State { investigating, identified, monitoring, resolved, closed, merged };
enum class Role { commander, scribe, comms, liaison, sme };

std::string_view to_string(Severity s);
std::string_view describe(Severity s);  // "critical" ... "cosmetic"
std::string_view to_string(State s);
std::string_view to_string(Role r);
std::optional<Severity> parse_severity(std::string_view text);  // "2", "sev2", "SEV2"
std::optional<State> parse_state(std::string_view text);
std::optional<Role> parse_role(std::string_view text);  // accepts "ic" and "lead" for commander

std::string incident_key(std::int64_t number);                          // 7 -> "INC-7"
std::optional<std::int64_t> parse_incident_key(std::string_view text);  // "INC-7"/"inc-7"

// A person on a chat platform. `id` is the platform's stable id, `name` what people see.
struct Actor {
    std::string id;
    std::string name;
    bool operator==(const Actor&) const = default;
};

// The bot acting for a monitoring system ("alertmanager"): no person, never a commander.
Actor system_actor(std::string_view source);
bool is_system(const Actor& actor);

struct Incident {
    std::int64_t number = 0;
    std::string title;
    Severity severity = Severity::sev3;
    std::optional<Severity> final_severity;
    State state = State::investigating;
    std::optional<std::int64_t> merged_into;
    std::string platform;      // where it was declared: "console", "slack", "mattermost"
    std::string channel_id;    // the incident's own channel, once the platform created it
    std::string channel_name;  // inc-<n>-<slug>
    Actor declared_by;
    Timestamp declared_at = 0;
    std::optional<Timestamp> identified_at;
    std::optional<Timestamp> mitigated_at;  // entered monitoring
    std::optional<Timestamp> resolved_at;
    std::optional<Timestamp> closed_at;
    Timestamp last_update_at = 0;  // last status update, drives reminders
    std::string summary;
    std::string postmortem_owner;               // display name or mention
    std::optional<std::string> postmortem_due;  // YYYY-MM-DD
    std::optional<Timestamp> postmortem_published_at;
    // When the problem began: the earliest alert's start for an incident opened from alerts;
    // unset for a declared one, which counts from its declaration (detected()).
    std::optional<Timestamp> detected_at;
    // An earlier incident this one follows on from (its alert group fired again).
    std::optional<std::int64_t> related_to;

    std::string key() const { return incident_key(number); }
    Timestamp detected() const { return detected_at.value_or(declared_at); }
    bool is_open() const {
        return state != State::resolved && state != State::closed && state != State::merged;
    }
};

struct RoleAssignment {
    Role role = Role::commander;
    Actor person;
    Actor assigned_by;
    Timestamp assigned_at = 0;
};

enum class EntryKind {
    message,  // human chatter in the incident channel
    declared,
    state,     // state transition
    severity,  // severity change
    role,
    update,  // /incident update: status update for stakeholders
    note,    // /incident note: key event
    action,  // action item created or completed
    merge,
    postmortem,
    alert,     // an alert from monitoring fired or resolved (bot/alerts.hpp)
    external,  // published to the public status page (/incident statuspage, component)
};
std::string_view to_string(EntryKind k);
std::optional<EntryKind> parse_entry_kind(std::string_view text);

struct TimelineEntry {
    std::int64_t id = 0;
    std::int64_t incident = 0;
    EntryKind kind = EntryKind::message;
    Timestamp at = 0;
    Actor author;
    std::string text;
    std::string message_id;  // platform message id (Slack ts, Mattermost post id)
    std::string thread_id;   // parent message id for threaded replies
    bool key_event = false;
    // What made a chat message a key event (key_event is whether any did). Each is undone on
    // its own: unpinning leaves a 📌-reacted message marked, and the other way round.
    bool marked_by_pin = false;       // pinned on the platform
    bool marked_by_reaction = false;  // a 📌 reaction, or the "key event" message shortcut
    std::optional<Timestamp> edited_at;
    std::optional<Timestamp> deleted_at;
    std::vector<std::string> previous_texts;  // oldest first: edits never lose words
};

enum class ActionSource { todo_line, command, reaction };
enum class ActionStatus { open, done, cancelled };
// Corrective actions fix this incident's causes; preventive measures keep the next one from
// happening (runbooks, monitoring, training). One numbering for both.
enum class ActionKind { corrective, preventive };
std::string_view to_string(ActionSource s);
std::string_view to_string(ActionStatus s);
std::string_view to_string(ActionKind k);
std::optional<ActionSource> parse_action_source(std::string_view text);
std::optional<ActionStatus> parse_action_status(std::string_view text);
std::optional<ActionKind> parse_action_kind(std::string_view text);

struct ActionItem {
    std::int64_t id = 0;
    std::int64_t incident = 0;
    int number = 0;  // per incident, what `/incident done <n>` refers to
    std::string text;
    std::string owner;               // "@name" or empty
    std::optional<std::string> due;  // YYYY-MM-DD
    ActionStatus status = ActionStatus::open;
    ActionSource source = ActionSource::command;
    ActionKind kind = ActionKind::corrective;
    std::string source_message_id;
    Actor author;
    Timestamp created_at = 0;
    std::optional<Timestamp> done_at;
};

// The three categories of the post-mortem's contributing factors; `/incident stats` counts
// how often each recurs across incidents.
enum class FactorCategory { technical, process, monitoring };
std::string_view to_string(FactorCategory c);
std::optional<FactorCategory> parse_factor_category(std::string_view text);
std::string_view describe(FactorCategory c);  // "Technical failures", ...
inline constexpr FactorCategory k_factor_categories[] = {
    FactorCategory::technical, FactorCategory::process, FactorCategory::monitoring};

struct ContributingFactor {
    std::int64_t id = 0;
    std::int64_t incident = 0;
    FactorCategory category = FactorCategory::technical;
    std::string text;
    Actor author;
    Timestamp at = 0;
};

// The narrative sections of the post-mortem, written from chat. Whys, lessons and services
// are lists; the others hold one text.
enum class Section {
    summary,
    impact_customers,
    impact_internal,
    impact_availability,
    why,
    root_cause,
    lesson_well,
    lesson_wrong,
    lesson_lucky,
    service,
    review,  // the review meeting: text is its UTC time, 2026-12-08T14:00:00Z
    notes,   // free-form notes, written on the dashboard
};
std::string_view to_string(Section s);  // "summary", "impact.customers", "lesson.well", ...
std::optional<Section> parse_section(std::string_view text);
bool is_list_section(Section s);

// One write of one section. Nothing is ever overwritten: the latest revision of a
// (section, item) is what the draft shows, the earlier ones are its history.
struct SectionRevision {
    std::int64_t id = 0;
    std::int64_t incident = 0;
    Section section = Section::summary;
    int item = 0;  // list sections: position from 1; single sections: 0
    std::string text;
    Actor author;
    Timestamp at = 0;
};

// One alert of a monitoring system, as it stands on the incident it opened or joined.
// (source, fingerprint, starts_at) names it: a repeat of the same triple is the same alert.
struct Alert {
    std::int64_t id = 0;
    std::int64_t incident = 0;
    std::string source;     // "alertmanager", "grafana", "pagerduty"
    std::string group_key;  // the source's group: all its alerts share an incident
    std::string fingerprint;
    std::string status;  // "firing" or "resolved"
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    Timestamp starts_at = 0;
    std::optional<Timestamp> ends_at;
    std::string url;  // where it came from (generatorURL)
    Timestamp received_at = 0;

    bool firing() const { return status == "firing"; }
};

// A published post-mortem: the draft frozen when it was published, under a permanent link.
// Later edits change only the draft, until the next publication makes the next version.
struct PublishedPostmortem {
    std::int64_t id = 0;
    std::int64_t incident = 0;
    int version = 0;  // 1 for an incident's first publication
    std::string title;
    std::string markdown;
    // What the full-text search reads besides the title.
    std::string summary, root_cause, factors, actions;
    Actor by;
    Timestamp at = 0;
};

// Someone who wants direct messages about incidents: one incident, or every incident
// at `min_severity` or worse.
struct Subscription {
    std::string platform;
    Actor who;
    std::optional<std::int64_t> incident;
    Severity min_severity = Severity::sev5;
};

// The public status page (/incident statuspage): what customers see. Nothing else about an
// incident is public; these are worded for customers by the person who publishes them.
enum class PublicState { investigating, identified, monitoring, resolved };
enum class ComponentStatus { operational, degraded, partial_outage, major_outage };
std::string_view to_string(PublicState s);  // "investigating" ...
std::string_view describe(PublicState s);   // "Investigating" ...
std::optional<PublicState> parse_public_state(std::string_view text);
std::string_view to_string(ComponentStatus s);  // "operational", "partial-outage" ...
std::string_view describe(ComponentStatus s);   // "Operational", "Partial outage" ...
std::optional<ComponentStatus> parse_component_status(std::string_view text);

// One publication on the status page: a message, a change of the public state, or both.
// `text` is empty for a state change alone.
struct StatusMessage {
    std::int64_t id = 0;
    std::int64_t incident = 0;
    PublicState state = PublicState::investigating;
    std::string text;
    Actor by;  // kept for the record, never shown on the public page
    Timestamp at = 0;
};

// The current public status of one component of the status page.
struct ComponentState {
    std::string name;
    ComponentStatus status = ComponentStatus::operational;
    std::optional<std::int64_t> incident;  // the incident whose responder set it
    Actor by;
    Timestamp at = 0;
};

// Evidence (bot/evidence.hpp): a file shared in an incident channel. Its content is kept once
// per SHA-256 (Store::put_content); the row says who shared it, when, and with which message.
enum class FileStatus {
    pending,    // recorded, download waiting in the outbox
    stored,     // content kept under sha256
    too_large,  // over INCIDENT_BOT_FILE_MAX_BYTES: recorded with its name and link only
    failed,     // the platform refused it for good
};
std::string_view to_string(FileStatus s);
std::optional<FileStatus> parse_file_status(std::string_view text);

struct EvidenceFile {
    std::int64_t id = 0;
    std::int64_t incident = 0;
    std::string platform;    // where it was shared: "slack", "mattermost"
    std::string source_id;   // the platform's file id
    std::string source_url;  // where it is downloaded from, and linked to when not kept
    std::string message_id;  // the message it came with
    std::string name;
    std::string mime_type;
    std::int64_t size = 0;  // bytes, as the platform said until downloaded
    std::string sha256;     // lower-case hex of the content; empty until stored
    Actor shared_by;
    Timestamp shared_at = 0;
    FileStatus status = FileStatus::pending;
    std::string error;  // why it is not stored, as the platform said it
};

// Everything the post-mortem and the exports are generated from.
struct IncidentSnapshot {
    Incident incident;
    std::vector<RoleAssignment> roles;
    std::vector<TimelineEntry> timeline;
    std::vector<ActionItem> actions;
    std::vector<ContributingFactor> factors;
    std::vector<SectionRevision> revisions;  // oldest first
    std::vector<Alert> alerts;
    std::vector<StatusMessage> status_messages;  // oldest first
    std::vector<EvidenceFile> files;             // oldest first
    std::vector<IncidentSnapshot> merged;        // incidents grouped under this one
};

}  // namespace incident
