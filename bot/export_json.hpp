#pragma once

#include <nlohmann/json.hpp>

#include "bot/types.hpp"

namespace incident {

// The stable JSON shape of an incident, shared by the CLI export and the web API.
nlohmann::json to_json(const Incident& incident);
nlohmann::json to_json(const IncidentSnapshot& snapshot);

}  // namespace incident
