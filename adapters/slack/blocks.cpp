#include "adapters/slack/blocks.hpp"

#include "bot/text.hpp"

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

std::string mention(const Actor& who) {
    return "<@" + who.id + ">";
}

}  // namespace

json text_blocks(const std::string& text) {
    // Section text is limited to 3000 characters; longer text goes as plain message text.
    if (text.size() > 3000) return json::array();
    return json::array({{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}}});
}

json incident_summary_blocks(const SummaryFacts& view) {
    const Incident& inc = view.incident;
    const std::string key = inc.key();
    // Opened from alerts, nobody is in command until someone takes it.
    const std::string commander =
        view.commander ? mention(*view.commander) : "nobody yet: `/incident role commander`";
    std::string fields = "*Severity:* " + std::string(to_string(inc.severity)) + " (" +
                         std::string(describe(inc.severity)) + ")\n*State:* " +
                         std::string(to_string(inc.state)) + "\n*Commander:* " + commander;
    for (const auto& [role, people] : view.roles) {
        fields += "\n*" + role_label(role) + ":* ";
        for (std::size_t i = 0; i < people.size(); ++i)
            fields += (i ? ", " : "") + mention(people[i]);
    }
    fields += "\n*Action items:* " + std::to_string(view.open_actions) + " open, " +
              std::to_string(view.done_actions) + " done";
    // Section text holds at most 3000 characters; an update is cut well before that.
    if (!view.last_update.empty()) {
        std::string update = truncate_utf8(view.last_update, 1500);
        if (update.size() < view.last_update.size()) update += "…";
        fields += "\n*Last update:* " + update;
    }
    std::string links;
    if (!view.link.empty()) links += "<" + view.link + "|Dashboard>";
    if (!view.postmortem_link.empty()) {
        links +=
            std::string(links.empty() ? "" : " · ") + "<" + view.postmortem_link + "|Post-mortem>";
    }
    if (!links.empty()) fields += "\n" + links;
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
