#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "bot/incident_service.hpp"

namespace incident::slack {

// The first message in an incident channel, kept current (chat.update): what, how bad, who
// does what, the last update, the action items, and buttons for the common actions. Button
// values are /incident command text, run as the person who pressed.
nlohmann::json incident_summary_blocks(const SummaryFacts& facts);

// A plain mrkdwn message body with its notification fallback text.
nlohmann::json text_blocks(const std::string& text);

}  // namespace incident::slack
