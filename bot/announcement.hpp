#pragma once

#include <string>
#include <string_view>

#include "bot/incident_service.hpp"

namespace incident {

// The LiveMessage purpose of that message (the channel's summary is "summary").
inline constexpr std::string_view k_announcement = "announcement";

// What the incident's first message in the announcement channel says once it is kept
// current: the incident as it is now, in the bot's mrkdwn (adapters convert it as they do
// every post). Stakeholders who only read that channel see the state without scrolling.
std::string announcement_text(const SummaryFacts& facts);

}  // namespace incident
