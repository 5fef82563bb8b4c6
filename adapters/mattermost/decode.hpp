#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/events.hpp"

namespace incident::mattermost {

inline constexpr std::string_view k_platform = "mattermost";

// One text frame from /api/v4/websocket: a server event, or the reply to one of our
// requests (told apart by `seq_reply`, as the official client does).
struct Frame {
    enum class Kind { event, response };
    Kind kind = Kind::event;
    // Events.
    std::string event;                // "posted", "hello", ...
    nlohmann::json data;              // always an object (empty when absent)
    nlohmann::json broadcast;         // always an object (empty when absent)
    std::optional<std::int64_t> seq;  // the server's per-connection event counter
    // Responses.
    std::int64_t seq_reply = 0;
    std::string status;  // "OK" or "FAIL"
    std::string error;   // FAIL: "<error id>: <message>"
    // Invalid string escapes (a lone surrogate) replaced with U+FFFD to read the frame.
    std::size_t repaired_escapes = 0;
    // Not empty: the frame is no JSON even after that repair; only `seq` (found at its
    // end, where the server writes it) is set, so the stream can go on past it.
    std::string unreadable;
};

// Nullopt (with `error` saying why) for malformed JSON without a trailing seq, a non-object,
// or an object that is neither an event (string "event") nor a response (integer
// "seq_reply"). Invalid string escapes are replaced with U+FFFD first.
std::optional<Frame> parse_frame(std::string_view text, std::string& error);

// {"seq": seq, "action": "authentication_challenge", "data": {"token": token}}
std::string authentication_challenge(std::int64_t seq, std::string_view token);

struct Hello {
    std::string connection_id;  // empty from servers older than reliable websockets
    std::string server_version;
    std::string user_id;  // broadcast.user_id: the authenticated user
};
Hello decode_hello(const Frame& frame);

// The fields of a Post the bot looks at.
struct Post {
    std::string id;
    std::string channel_id;
    std::string user_id;
    std::string root_id;
    std::string message;
    std::string type;  // "" for people; "system_*" for joins, header changes, ...
    Timestamp create_at = 0;
    Timestamp update_at = 0;
    Timestamp edit_at = 0;
    Timestamp delete_at = 0;
    std::optional<bool> is_pinned;   // absent from older servers' posts
    bool from_bot_prop = false;      // props.from_bot == "true"
    bool from_webhook_prop = false;  // props.from_webhook == "true" (slash command replies)
    // file_ids, with what metadata.files says of each (name, type, size) when it is there.
    std::vector<SharedFile> files;
};

// A Post object (the REST form) or a JSON string holding one (the WebSocket form).
// Nullopt with `error` when it is neither or has no id.
std::optional<Post> decode_post(const nlohmann::json& value, std::string& error);

// What decode_event needs to know about the connection.
struct DecodeContext {
    std::string bot_user_id;    // posts and reactions by the bot itself are not chatter
    std::string connection_id;  // with the event seq, tells apart repeated reaction removals
};

// A server event as a neutral chat event. `ignored` says why nothing came out (an event
// type the bot does not use); `malformed` says what was wrong (the frame changes nothing).
struct DecodedEvent {
    std::optional<ChatEvent> event;
    std::string ignored;
    std::string malformed;
    std::string sender_name;  // data.sender_name without the "@", when the event has one
};
DecodedEvent decode_event(const Frame& frame, const DecodeContext& context);

// The event ids, stable across redelivery and replay. Exposed for the REST re-sync, which
// must produce the same ids as the WebSocket for the same change.
std::string posted_event_id(const Post& post);
std::string edited_event_id(const Post& post);
std::string deleted_event_id(const Post& post);

// Neutral events for a post fetched over REST (GET /channels/{id}/posts?since=...):
// posted, edited and deleted as they apply after `since`. Pinning and unpinning move
// update_at but not edit_at, so a post changed only that way (or by a reaction or a reply)
// comes out as a same-text edit carrying is_pinned, and only when that differs from what the
// bot has: `stored_pin` is whether its entry for the post is marked by a pin, nullopt when it
// has no entry (then only a post created after `since` can become one).
std::vector<ChatEvent> events_for_post(const Post& post, Timestamp since,
                                       const DecodeContext& context,
                                       std::optional<bool> stored_pin = std::nullopt);
bool is_bot_post(const Post& post, const DecodeContext& context);

// The prop the bot's posts of an outbox entry carry: the entry's id, as a string. A repeat of
// an attempt whose answer was lost looks for it among the channel's recent posts.
inline constexpr std::string_view k_outbox_marker_prop = "incident_bot_outbox_id";
// The id of the post in a PostList (GET channels/{id}/posts) that carries `marker` in that
// prop, made by `bot_user_id` (any author when it is not known yet) no earlier than
// `not_before`; empty when there is none.
std::string marked_post(const nlohmann::json& post_list, std::string_view marker,
                        const std::string& bot_user_id, Timestamp not_before);

// An outgoing slash command request, as name -> value. The body is a form
// (application/x-www-form-urlencoded, what the server sends) or a JSON object of the
// same fields. Nullopt with `error` for a malformed body.
using CommandFields = std::map<std::string, std::string>;
std::optional<CommandFields> parse_command_body(std::string_view content_type,
                                                std::string_view body, std::string& error);

struct TokenCheck {
    bool ok = false;
    std::string error;  // for the log and the 401 body; never contains a token
};

// The command token, from the `token` field or an "Authorization: Token <token>" header;
// either one matching is enough. Constant-time comparison.
TokenCheck verify_command_token(std::string_view expected, const CommandFields& fields,
                                std::string_view authorization);

// Constant time in the contents and independent of the lengths.
bool tokens_equal(std::string_view a, std::string_view b);

// Nullopt when user_id or channel_id is missing. `text` is what follows the trigger.
std::optional<CommandRequest> decode_slash_command(const CommandFields& fields, Timestamp now);

// A valid Mattermost channel name from `name` ("Incidents" -> "incidents"), or "" when
// nothing usable remains.
std::string channel_name_of(std::string_view name);

// The domain writes Slack-style *bold*; in Mattermost's Markdown that is italic. Turns each
// *span* (word-bounded, on one line, not already **) into **span**.
std::string markdown_from_mrkdwn(std::string_view text);

// `text` cut to at most `max_runes` UTF-8 code points (never inside a sequence).
std::string truncate_runes(std::string_view text, std::size_t max_runes);

}  // namespace incident::mattermost
