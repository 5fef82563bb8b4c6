#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bot/events.hpp"

namespace incident::slack {

inline constexpr std::string_view k_platform = "slack";

// A Socket Mode frame: hello, disconnect, or an envelope to ack.
struct Envelope {
    std::string type;  // hello, disconnect, events_api, slash_commands, interactive
    std::string envelope_id;
    nlohmann::json payload;
    int retry_attempt = 0;
    bool accepts_response_payload = false;
    std::string reason;  // disconnect reason
    // Invalid string escapes (a lone surrogate) replaced with U+FFFD to read the frame.
    std::size_t repaired_escapes = 0;
    // Not empty: the frame is no JSON even after that repair, but names its envelope_id
    // (the only other field set), so it can be acked. Says what is wrong with it.
    std::string unreadable;
};

// Nullopt (with `error` saying why) for malformed JSON that names no envelope_id, or a
// frame that is not an object with a string "type". Invalid string escapes are replaced
// with U+FFFD first (repaired_escapes counts them).
std::optional<Envelope> parse_envelope(std::string_view text, std::string& error);

// The frame that acks an envelope, with the response payload when it is not null.
std::string ack_frame(const std::string& envelope_id, const nlohmann::json& payload);

// An Events API event_callback as a neutral chat event. `ignored` says why nothing came out
// (bot message, join, unsupported event type, ...); `missing` names a required field that
// was absent, which makes the payload malformed.
struct DecodedEvent {
    std::optional<ChatEvent> event;
    std::string ignored;
    std::string malformed;
};
DecodedEvent decode_event_callback(const nlohmann::json& payload);

// A slash command (Socket Mode payload, or the HTTP form turned into a JSON object of
// strings). Nullopt when user_id or channel_id is missing.
std::optional<CommandRequest> decode_slash_command(const nlohmann::json& payload, Timestamp now);

// A button press (block_actions) whose value is /incident command text.
std::optional<CommandRequest> decode_block_action(const nlohmann::json& payload, Timestamp now);

// Who acted in an interaction payload (block_actions, view_submission, shortcuts): user.id,
// and user.username (or user.name). Nullopt without a user id.
std::optional<Actor> interaction_user(const nlohmann::json& payload);

// A summary button that opens a form: action_id "form:<form id>", value the incident key.
struct FormButton {
    std::string form;  // "update", "severity", ... (commands/forms.hpp)
    std::int64_t incident = 0;
    std::string trigger_id;
    std::string action_ts;
    std::string channel_id;
    Actor user;
};
// Nullopt for any other block_actions (or one without trigger_id, user or incident key).
// form_action_id is the action_id of such a button.
std::string form_action_id(std::string_view form);
std::optional<FormButton> decode_form_button(const nlohmann::json& payload);

// What a modal carries from its opening to its submission, as its private_metadata (JSON):
// the form, the incident it is about, and the channel to answer in (empty: a direct message).
struct FormContext {
    std::string form;
    std::optional<std::int64_t> incident;
    std::string channel_id;
};
std::string encode_form_context(const FormContext& context);
std::optional<FormContext> decode_form_context(std::string_view metadata);
// A modal's callback_id names its form: "incident_form:<form id>".
std::string form_callback_id(std::string_view form);

// A view_submission of one of the bot's modals. Values by block_id, as a form field takes
// them: a text input's value, a static_select's selected option value, a datepicker's date;
// a users_select gives the bare user id (the adapter makes a mention of it). An empty input
// is absent.
struct ViewSubmission {
    std::string view_id;
    FormContext context;
    std::map<std::string, std::string> values;
    std::map<std::string, std::string> users;  // block ids of users_select values -> user id
    Actor user;
};
// Nullopt for a view that is not one of the bot's forms, or without view id or user.
std::optional<ViewSubmission> decode_view_submission(const nlohmann::json& payload);

// A global shortcut ("shortcut") or a message shortcut ("message_action").
struct Shortcut {
    bool on_message = false;
    std::string callback_id;
    std::string trigger_id;
    std::string action_ts;
    Actor user;
    // Message shortcuts only: where, and the message it was used on.
    std::string channel_id;
    std::string message_ts;
    std::string thread_ts;
    std::string message_text;
    std::string message_user;  // empty for a bot's message
    bool message_from_bot = false;
};
// Nullopt for other payloads, or without callback_id, user, or (message shortcuts) channel and
// message ts.
std::optional<Shortcut> decode_shortcut(const nlohmann::json& payload);

// "1610241741.000200" -> 1610241741000 (ms); 0 when it is not a Slack ts.
Timestamp parse_ts(std::string_view ts);

// Every chat.postMessage from the outbox carries its entry's id as message metadata
// (docs.slack.dev/messaging/message-metadata: `event_type` and a free-form `event_payload`), so
// that a retry after a lost answer finds the message in conversations.history instead of
// posting it again.
inline constexpr std::string_view k_outbox_event_type = "incident_bot_outbox";
nlohmann::json outbox_metadata(std::int64_t entry_id);
// The message in conversations.history's answer `history` (read with include_all_metadata)
// that carries entry `entry_id`'s metadata, posted by `bot_user_id` at `not_before` or later;
// null when there is none.
nlohmann::json marked_message(const nlohmann::json& history, std::int64_t entry_id,
                              const std::string& bot_user_id, Timestamp not_before);

}  // namespace incident::slack
