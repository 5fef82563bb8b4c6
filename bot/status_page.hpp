#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bot/incident_service.hpp"
#include "bot/types.hpp"

namespace incident {

// The public status page as customers see it: only what a person published. No titles, no
// names, no incident numbers: an incident is known by the id of its first publication.
struct PublicUpdate {
    std::int64_t id = 0;
    PublicState state = PublicState::investigating;
    std::string text;  // empty for a change of state alone
    Timestamp at = 0;
};

struct PublicIncident {
    std::int64_t id = 0;
    PublicState state = PublicState::investigating;  // the latest publication's
    Timestamp started = 0;                           // the first publication
    Timestamp updated = 0;                           // the latest publication
    std::vector<PublicUpdate> updates;               // newest first
};

struct PublicComponent {
    std::string name;
    ComponentStatus status = ComponentStatus::operational;
    Timestamp updated = 0;  // 0: never set
};

struct PublicStatus {
    std::vector<PublicComponent> components;  // in the configured order
    std::vector<PublicIncident> current;      // not resolved, newest first
    std::vector<PublicIncident> past;         // resolved, updated in the window, newest first
    Timestamp updated = 0;                    // the newest publication or component change
};

inline constexpr int k_status_history_days = 90;

// Reads what was published in the last `days` days before `now`. An incident appears only
// when at least one of its publications has text.
PublicStatus public_status(IncidentService& service, Timestamp now,
                           int days = k_status_history_days);

}  // namespace incident
