#pragma once

#include <map>
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

// Interaction payloads, shaped like the bolt-python test payloads in
// tests/protocol/slack/fixtures/http_*.bolt-python-test.json.
inline nlohmann::json interactive_envelope(const std::string& id, nlohmann::json payload) {
    return {{"envelope_id", "env-" + id},
            {"type", "interactive"},
            {"accepts_response_payload", true},
            {"payload", std::move(payload)}};
}

inline nlohmann::json slack_user(const std::string& id, const std::string& name) {
    return {{"id", id}, {"username", name}, {"name", name}, {"team_id", "T111"}};
}

// A press of `button` (an element of a message's actions block) in `channel`.
inline nlohmann::json button_press(const std::string& trigger, const std::string& channel,
                                   const std::string& message_ts, const std::string& user,
                                   const std::string& user_name, const nlohmann::json& button,
                                   const std::string& action_ts) {
    return {{"type", "block_actions"},
            {"user", slack_user(user, user_name)},
            {"api_app_id", "A111"},
            {"token", "verification_token"},
            {"container",
             {{"type", "message"},
              {"message_ts", message_ts},
              {"channel_id", channel},
              {"is_ephemeral", false}}},
            {"trigger_id", trigger},
            {"team", {{"id", "T111"}, {"domain", "workspace-domain"}}},
            {"channel", {{"id", channel}, {"name", "inc-1"}}},
            {"response_url", "https://hooks.slack.com/actions/T111/111/random-value"},
            {"actions",
             nlohmann::json::array({{{"action_id", button.value("action_id", "")},
                                     {"block_id", "b"},
                                     {"text", button.value("text", nlohmann::json::object())},
                                     {"value", button.value("value", "")},
                                     {"type", "button"},
                                     {"action_ts", action_ts}}})}};
}

// The submission of `view` (as views.open returned it) with `inputs` by block_id: each given
// as Slack reports its element's state (plain_text_input value, static_select selected_option,
// users_select selected_user, datepicker selected_date; null when left empty).
inline nlohmann::json view_submission(const nlohmann::json& view, const std::string& user,
                                      const std::string& user_name,
                                      const std::map<std::string, std::string>& inputs) {
    using nlohmann::json;
    json values = json::object();
    for (const auto& block : view.value("blocks", json::array())) {
        const json& element = block["element"];
        const std::string id = block.value("block_id", "");
        const auto given = inputs.find(id);
        const json value = given == inputs.end() ? json() : json(given->second);
        const std::string type = element.value("type", "");
        json state{{"type", type}};
        if (type == "static_select") {
            json selected;
            for (const auto& o : element.value("options", json::array())) {
                if (!value.is_null() && o.value("value", "") == value) selected = o;
            }
            // A value the options do not have: what a forged request would send.
            if (selected.is_null() && !value.is_null()) {
                selected = {{"text", {{"type", "plain_text"}, {"text", value}}}, {"value", value}};
            }
            state["selected_option"] = selected;
        } else if (type == "users_select") {
            state["selected_user"] = value;
        } else if (type == "datepicker") {
            state["selected_date"] = value;
        } else {
            state["value"] = value;
        }
        values[id] = {{element.value("action_id", ""), state}};
    }
    json submitted = view;
    submitted["state"] = {{"values", values}};
    return {{"type", "view_submission"},
            {"team", {{"id", "T111"}, {"domain", "workspace-domain"}}},
            {"user", slack_user(user, user_name)},
            {"api_app_id", "A111"},
            {"token", "verification_token"},
            {"trigger_id", "111.222.submission"},
            {"view", submitted},
            {"response_urls", json::array()}};
}

inline nlohmann::json global_shortcut(const std::string& trigger, const std::string& callback,
                                      const std::string& user, const std::string& user_name) {
    return {{"type", "shortcut"},
            {"token", "verification_token"},
            {"action_ts", "1800000100.000100"},
            {"team", {{"id", "T111"}, {"domain", "workspace-domain"}}},
            {"user", {{"id", user}, {"username", user_name}, {"team_id", "T111"}}},
            {"callback_id", callback},
            {"trigger_id", trigger}};
}

inline nlohmann::json message_shortcut(const std::string& trigger, const std::string& callback,
                                       const std::string& channel, const std::string& user,
                                       const std::string& user_name, const std::string& ts,
                                       const std::string& author, const std::string& text,
                                       const std::string& action_ts) {
    return {{"type", "message_action"},
            {"token", "verification_token"},
            {"action_ts", action_ts},
            {"team", {{"id", "T111"}, {"domain", "workspace-domain"}}},
            {"user", {{"id", user}, {"name", user_name}}},
            {"channel", {{"id", channel}, {"name", "inc-1"}}},
            {"callback_id", callback},
            {"trigger_id", trigger},
            {"message_ts", ts},
            {"message",
             {{"type", "message"}, {"text", text}, {"user", author}, {"ts", ts}, {"team", "T111"}}},
            {"response_url", "https://hooks.slack.com/app/T111/111/xxx"}};
}

}  // namespace incident::testing
