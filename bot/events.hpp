#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bot/types.hpp"

namespace incident {

// What every adapter turns wire events into. `event_id` is the platform's delivery id
// (Slack event_id, Mattermost post id + event kind, ...): the same id twice is one event.
struct EventHeader {
    std::string event_id;
    std::string platform;
    std::string channel_id;
    Timestamp at = 0;
};

// A file that came with a message, as the platform described it (bot/evidence.hpp).
struct SharedFile {
    std::string id;  // the platform's file id
    std::string name;
    std::string mime_type;
    std::int64_t size = 0;  // 0: not known before it is fetched
    std::string url;        // where it is downloaded from; empty when fetched by id
};

struct MessagePosted {
    EventHeader header;
    std::string message_id;
    std::string thread_id;
    Actor author;
    std::string text;
    bool from_bot = false;  // bots, joins and other system messages are not chatter
    std::vector<SharedFile> files = {};
};

struct MessageEdited {
    EventHeader header;
    std::string message_id;
    std::string text;
    // Whether the message is pinned now, when the platform says so with the edit (a
    // Mattermost post_edited carries the whole post, pinning and unpinning included).
    std::optional<bool> pinned = std::nullopt;
};

struct MessageDeleted {
    EventHeader header;
    std::string message_id;
};

struct ReactionChanged {
    EventHeader header;
    std::string message_id;
    std::string reaction;  // emoji name without colons: "pushpin", "memo"
    Actor actor;
    bool added = true;
};

// A file shared in a channel, announced apart from any message (Slack's file_shared): only its
// id is known until the platform is asked. A message announcing the same file records it once.
struct FileShared {
    EventHeader header;
    SharedFile file;
    Actor by;
};

using ChatEvent =
    std::variant<MessagePosted, MessageEdited, MessageDeleted, ReactionChanged, FileShared>;
const EventHeader& header_of(const ChatEvent& event);

// A slash command as typed: `text` is everything after "/incident".
struct CommandRequest {
    std::string request_id;  // idempotency key: a resubmitted request is answered, not redone
    std::string platform;
    std::string channel_id;
    std::string channel_name;
    Actor caller;
    std::string text;
    Timestamp at = 0;
};

// Where a bot post goes. Adapters resolve each kind to a platform channel.
struct ToChannel {
    std::string channel_id;
};
struct ToIncident {
    std::int64_t number = 0;
};
struct ToAnnouncements {};
struct ToUser {
    Actor who;
};
using Destination = std::variant<ToChannel, ToIncident, ToAnnouncements, ToUser>;

// Side effects the domain asks the platform for, executed after the event is committed.
struct CreateChannel {
    std::int64_t incident = 0;
    std::string name;
    std::string topic;
    std::vector<Actor> invite;
};
struct PostMessage {
    Destination to;
    std::string text;
};
struct SetTopic {
    std::int64_t incident = 0;
    std::string topic;
};
// For sinks that are not chat (webhook, email): what happened to an incident, with enough
// of the incident that a sink never has to query the store. Chat adapters ignore it.
enum class NotifyKind {
    declared,
    severity,
    state,
    update,
    resolved,
    merged,
    postmortem_published,
    closed,
    status_page,  // a publication on the status page: a message, a change of state, or both
    component,    // a component's status on the status page
};
std::string_view to_string(NotifyKind kind);

struct Notify {
    NotifyKind kind = NotifyKind::declared;
    std::int64_t number = 0;
    std::string key;  // "INC-7"
    std::string title;
    Severity severity = Severity::sev3;
    std::optional<Severity> final_severity;
    State state = State::investigating;
    std::optional<std::int64_t> merged_into;
    std::string platform;
    std::string channel_name;
    Actor by;
    std::string text;  // what happened, as the announcement says it (no link)
    std::string link;  // the dashboard page; empty without INCIDENT_BOT_PUBLIC_URL
    // postmortem_published: the permanent link of the version just published (else empty).
    std::string postmortem_link;
    Timestamp at = 0;
    // status_page: the public state, `text` being what was published (empty for a change of
    // state alone); component: its name and new status. Only what customers may read.
    std::optional<PublicState> public_state;
    std::string component;
    std::optional<ComponentStatus> component_status;
};

// The incident's live summary (the message the bot posted in its channel on declare) is to
// show the incident as it is now: rendered when delivered, not when written, so one entry
// stands for every change before it (Outbox::write keeps at most one waiting per incident).
struct RefreshSummary {
    std::int64_t incident = 0;
};

// Download a recorded file into the store, through the incident's platform sink, so that a
// failed download is retried like any other effect.
struct FetchFile {
    std::int64_t incident = 0;
    std::int64_t file = 0;  // EvidenceFile::id
};

using Effect =
    std::variant<CreateChannel, PostMessage, SetTopic, Notify, RefreshSummary, FetchFile>;

// The answer to a command: shown to the caller (ephemeral) or to the channel.
struct Reply {
    enum class Visibility { ephemeral, in_channel };
    bool ok = true;
    Visibility visibility = Visibility::ephemeral;
    std::string text;
};

struct Outcome {
    Reply reply;
    std::vector<Effect> effects;
    bool duplicate = false;  // the event or request had been handled already
};

}  // namespace incident
