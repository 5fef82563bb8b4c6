#include "bot/announcement.hpp"

#include "bot/people.hpp"
#include "bot/text.hpp"

namespace incident {

std::string announcement_text(const SummaryFacts& facts) {
    const Incident& inc = facts.incident;
    std::string text = "*" + inc.key() + "* (" + std::string(to_string(inc.severity)) + ", " +
                       std::string(to_string(inc.state)) + ") " + inc.title + "\nCommander: " +
                       (facts.commander ? mention(*facts.commander) : "nobody yet");
    if (!inc.channel_name.empty()) text += " · Channel: #" + inc.channel_name;
    text += " · Action items: " + std::to_string(facts.open_actions) + " open, " +
            std::to_string(facts.done_actions) + " done";
    if (!facts.last_update.empty()) {
        std::string update = truncate_utf8(facts.last_update, 1500);
        if (update.size() < facts.last_update.size()) update += "…";
        text += "\nLast update: " + update;
    }
    if (!facts.link.empty()) text += "\n" + facts.link;
    return text;
}

void remember_first_announcement(IncidentService& service, std::int64_t incident,
                                 std::string_view platform, const PostMessage& message,
                                 const std::string& channel_id, const std::string& message_id,
                                 const std::string& rendered) {
    if (incident <= 0 || message_id.empty() ||
        !std::holds_alternative<ToAnnouncements>(message.to) ||
        service.live_message(incident, platform, k_announcement)) {
        return;
    }
    service.save_live_message(LiveMessage{incident, std::string(platform),
                                          std::string(k_announcement), channel_id, message_id,
                                          rendered, service.now()});
}

}  // namespace incident
