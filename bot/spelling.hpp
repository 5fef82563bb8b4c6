#pragma once

#include <cstddef>
#include <string_view>

namespace incident {

// Levenshtein distance, for "did you mean" suggestions (commands, settings keys).
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace incident
