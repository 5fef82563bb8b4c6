#pragma once

#include <optional>
#include <string>

#include "bot/types.hpp"

namespace incident {

// The post-mortem draft in Markdown. Deterministic: the same snapshot gives the same bytes,
// so it can be regenerated at any time and compared against a golden file.
// With `published_version`, the frozen copy published under that number.
std::string render_postmortem(const IncidentSnapshot& snapshot,
                              std::optional<int> published_version = std::nullopt);

}  // namespace incident
