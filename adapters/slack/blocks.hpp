#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "bot/types.hpp"

namespace incident::slack {

// The first message in an incident channel: what, how bad, who leads, and buttons for the
// common actions. Button values are /incident command text, run as the person who pressed.
nlohmann::json incident_summary_blocks(const Incident& incident, const std::string& commander,
                                       const std::string& link);

// A plain mrkdwn message body with its notification fallback text.
nlohmann::json text_blocks(const std::string& text);

}  // namespace incident::slack
