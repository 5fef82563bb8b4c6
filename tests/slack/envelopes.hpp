#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace incident::testing {

// Socket Mode envelopes shaped like the fixtures in shared/protocol/slack/fixtures.
inline nlohmann::json events_envelope(const std::string& event_id, nlohmann::json event) {
    return {{"envelope_id", "env-" + event_id},
            {"type", "events_api"},
            {"accepts_response_payload", false},
            {"retry_attempt", 0},
            {"retry_reason", ""},
            {"payload",
             {{"token", "verification-token"},
              {"team_id", "T111"},
              {"api_app_id", "A111"},
              {"type", "event_callback"},
              {"event_id", event_id},
              {"event_time", 1800000000},
              {"event", event}}}};
}

inline nlohmann::json message_event(const std::string& channel, const std::string& user,
                                    const std::string& ts, const std::string& text) {
    return {
        {"type", "message"}, {"channel", channel},       {"user", user}, {"text", text}, {"ts", ts},
        {"event_ts", ts},    {"channel_type", "channel"}};
}

inline nlohmann::json edit_event(const std::string& channel, const std::string& user,
                                 const std::string& ts, const std::string& text) {
    return {{"type", "message"},
            {"subtype", "message_changed"},
            {"hidden", true},
            {"channel", channel},
            {"ts", "1800009999.000001"},
            {"message",
             {{"type", "message"},
              {"user", user},
              {"text", text},
              {"ts", ts},
              {"edited", {{"user", user}, {"ts", "1800009999.000001"}}}}}};
}

inline nlohmann::json delete_event(const std::string& channel, const std::string& ts) {
    return {{"type", "message"},
            {"subtype", "message_deleted"},
            {"hidden", true},
            {"channel", channel},
            {"ts", "1800009998.000001"},
            {"deleted_ts", ts},
            {"event_ts", "1800009998.000002"}};
}

inline nlohmann::json reaction_event(bool added, const std::string& channel,
                                     const std::string& user, const std::string& ts,
                                     const std::string& reaction) {
    return {{"type", added ? "reaction_added" : "reaction_removed"},
            {"user", user},
            {"reaction", reaction},
            {"item_user", "U2"},
            {"item", {{"type", "message"}, {"channel", channel}, {"ts", ts}}},
            {"event_ts", "1800000500.000100"}};
}

inline nlohmann::json slash_payload(const std::string& trigger, const std::string& channel,
                                    const std::string& user, const std::string& user_name,
                                    const std::string& text) {
    return {{"token", "verification-token"},
            {"team_id", "T111"},
            {"team_domain", "fake"},
            {"channel_id", channel},
            {"channel_name", "x"},
            {"user_id", user},
            {"user_name", user_name},
            {"command", "/incident"},
            {"text", text},
            {"api_app_id", "A111"},
            {"response_url", "https://hooks.slack.com/commands/T111/1/x"},
            {"trigger_id", trigger}};
}

inline nlohmann::json slash_envelope(const std::string& trigger, const std::string& channel,
                                     const std::string& user, const std::string& user_name,
                                     const std::string& text) {
    return {{"envelope_id", "env-" + trigger},
            {"type", "slash_commands"},
            {"accepts_response_payload", true},
            {"payload", slash_payload(trigger, channel, user, user_name, text)}};
}

}  // namespace incident::testing
