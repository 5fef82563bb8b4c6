#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bot/types.hpp"

namespace incident::web {

struct IsoWeek {
    int year = 0;
    int week = 0;               // 1..53
    Timestamp monday = 0;       // 00:00 UTC on the week's Monday
    std::string label() const;  // "2026-W48"
};
IsoWeek iso_week(Timestamp at);

// Inline SVG, drawn by the server. Merged incidents are counted with their primary, so
// callers pass them in and the charts leave them out.

// Incidents declared per ISO week, stacked by (final) severity, for the `weeks` weeks up to
// and including the one holding `now`.
std::string weekly_severity_chart(const std::vector<Incident>& incidents, Timestamp now, int weeks);

// Time from declaration to resolution for each resolved incident (newest first, at most
// `max_bars`), one horizontal bar each, linking to the incident.
std::string resolve_time_chart(const std::vector<Incident>& incidents, std::size_t max_bars);

}  // namespace incident::web
