#include "bot/calendar.hpp"

#include "bot/people.hpp"
#include "bot/sections.hpp"
#include "bot/text.hpp"

namespace incident {

namespace {

// 2026-12-08T14:00:00Z -> 20261208T140000Z
std::string ical_time(Timestamp at) {
    std::string iso = format_time(at);
    std::string out;
    for (const char c : iso) {
        if (c != '-' && c != ':') out += c;
    }
    return out;
}

// One content line, folded so that no physical line exceeds 75 octets (RFC 5545 3.1), never
// inside a UTF-8 sequence.
std::string content_line(std::string_view line) {
    std::string out;
    std::size_t width = 0;
    for (std::size_t i = 0; i < line.size();) {
        std::size_t len = 1;
        const auto lead = static_cast<unsigned char>(line[i]);
        if (lead >= 0xF0) {
            len = 4;
        } else if (lead >= 0xE0) {
            len = 3;
        } else if (lead >= 0xC0) {
            len = 2;
        }
        len = std::min(len, line.size() - i);
        if (width + len > 75) {
            out += "\r\n ";
            width = 1;
        }
        out.append(line.substr(i, len));
        width += len;
        i += len;
    }
    return out + "\r\n";
}

}  // namespace

std::string ical_text(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\' || c == ';' || c == ',') {
            out += '\\';
            out += c;
        } else if (c == '\r') {
            if (i + 1 < text.size() && text[i + 1] == '\n') continue;
            out += "\\n";
        } else if (c == '\n') {
            out += "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
            continue;  // other control characters are not allowed in TEXT
        } else {
            out += c;
        }
    }
    return out;
}

std::string review_calendar(const ReviewEvent& event) {
    std::string description = "Blameless post-mortem review of " + event.key + ": " + event.title;
    if (!event.organizer.empty()) description += "\nScheduled by " + event.organizer + ".";
    if (!event.link.empty()) description += "\nDraft: " + event.link;
    std::string ics;
    ics += content_line("BEGIN:VCALENDAR");
    ics += content_line("VERSION:2.0");
    ics += content_line("PRODID:-//incident-bot//post-mortem review//EN");
    ics += content_line("CALSCALE:GREGORIAN");
    ics += content_line("METHOD:PUBLISH");
    ics += content_line("BEGIN:VEVENT");
    ics += content_line("UID:" + event.key + "-postmortem-review@incident-bot");
    ics += content_line("SEQUENCE:" + std::to_string(event.sequence));
    ics += content_line("DTSTAMP:" + ical_time(event.stamp));
    ics += content_line("DTSTART:" + ical_time(event.start));
    ics += content_line("DURATION:PT1H");
    ics += content_line("SUMMARY:" +
                        ical_text("Post-mortem review: " + event.key + " " + event.title));
    ics += content_line("DESCRIPTION:" + ical_text(description));
    if (!event.link.empty()) ics += content_line("URL:" + event.link);
    ics += content_line("END:VEVENT");
    ics += content_line("END:VCALENDAR");
    return ics;
}

std::optional<ReviewEvent> review_event(const IncidentSnapshot& snap,
                                        const std::string& incident_link) {
    const PostmortemSections sections = current_sections(snap.revisions);
    const auto start = sections.review_at();
    if (!start) return std::nullopt;
    ReviewEvent event;
    event.key = snap.incident.key();
    event.title = snap.incident.title;
    event.start = *start;
    event.stamp = sections.review->at;
    for (const auto& r : snap.revisions) event.sequence += r.section == Section::review;
    event.sequence -= 1;
    const Actor& by = sections.review->author;
    event.organizer = mention(by);
    if (!incident_link.empty()) event.link = incident_link + "/postmortem";
    return event;
}

}  // namespace incident
