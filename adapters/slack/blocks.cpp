#include "adapters/slack/blocks.hpp"

namespace incident::slack {

namespace {

using nlohmann::json;

json button(const std::string& label, const std::string& command, const char* style = nullptr) {
    json b{{"type", "button"},
           {"text", {{"type", "plain_text"}, {"text", label}}},
           {"action_id", "incident:" + command},
           {"value", command}};
    if (style) b["style"] = style;
    return b;
}

}  // namespace

json text_blocks(const std::string& text) {
    // Section text is limited to 3000 characters; longer text goes as plain message text.
    if (text.size() > 3000) return json::array();
    return json::array({{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}}});
}

json incident_summary_blocks(const Incident& inc, const std::string& commander,
                             const std::string& link) {
    const std::string key = inc.key();
    std::string fields = "*Severity:* " + std::string(to_string(inc.severity)) + " (" +
                         std::string(describe(inc.severity)) + ")\n*State:* " +
                         std::string(to_string(inc.state)) + "\n*Commander:* " + commander;
    if (!link.empty()) fields += "\n<" + link + "|Dashboard>";
    return json::array({
        {{"type", "header"},
         {"text",
          {{"type", "plain_text"}, {"text", "🚨 " + key + ": " + inc.title.substr(0, 140)}}}},
        {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", fields}}}},
        {{"type", "actions"},
         {"elements", json::array({
                          button("Join as scribe", "role " + key + " scribe"),
                          button("Join as comms", "role " + key + " comms"),
                          button("Join as SME", "role " + key + " sme"),
                          button("Info", "info " + key),
                          button("Resolve", "resolve " + key, "danger"),
                      })}},
        {{"type", "context"},
         {"elements", json::array({{{"type", "mrkdwn"},
                                    {"text",
                                     "`/incident update <text>` informs stakeholders · a line "
                                     "starting with TODO becomes an action item · 📌 marks a key "
                                     "event"}}})}},
    });
}

}  // namespace incident::slack
