#pragma once

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

// "1610241741.000200" -> 1610241741000 (ms); 0 when it is not a Slack ts.
Timestamp parse_ts(std::string_view ts);

}  // namespace incident::slack
