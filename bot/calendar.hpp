#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bot/types.hpp"

namespace incident {

// The post-mortem review meeting as an iCalendar file (RFC 5545): one VEVENT of an hour at
// the review time, CRLF line ends, lines folded at 75 octets, text escaped. `sequence` counts
// reschedules, so a calendar app updates the event it imported before instead of adding one.
struct ReviewEvent {
    std::string key;    // INC-7
    std::string title;  // the incident's
    Timestamp start = 0;
    Timestamp stamp = 0;  // when it was scheduled
    int sequence = 0;
    std::string organizer;  // display name, may be empty
    std::string link;       // the post-mortem draft, may be empty
};
std::string review_calendar(const ReviewEvent& event);

// The incident's review meeting, if one is scheduled; `incident_link` may be empty.
std::optional<ReviewEvent> review_event(const IncidentSnapshot& snapshot,
                                        const std::string& incident_link);

// RFC 5545 TEXT: backslash, semicolon, comma and line breaks escaped.
std::string ical_text(std::string_view text);

}  // namespace incident
