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

// A post of incident `incident` went out as `message_id` in `channel_id`: when it was the
// incident's first into the announcement channel, it is remembered as the live message that
// summary refreshes keep current. Later announcements stay as posted.
void remember_first_announcement(IncidentService& service, std::int64_t incident,
                                 std::string_view platform, const PostMessage& message,
                                 const std::string& channel_id, const std::string& message_id,
                                 const std::string& rendered);

}  // namespace incident
