#pragma once

#include <string>

#include "bot/types.hpp"

namespace incident {

// The post-mortem draft in Markdown. Deterministic: the same snapshot gives the same bytes,
// so it can be regenerated at any time and compared against a golden file.
std::string render_postmortem(const IncidentSnapshot& snapshot);

}  // namespace incident
