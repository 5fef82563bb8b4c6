#pragma once

#include <optional>
#include <string>

#include "bot/types.hpp"

namespace incident {

// Legal moves:
//   investigating, identified, monitoring: to each other (a fix can fail) and to resolved
//   resolved: back to investigating (reopen) or on to closed
//   any state but closed and merged: to merged
//   closed, merged: terminal
bool can_transition(State from, State to);

// Why `from -> to` is illegal, phrased for the person who asked; nullopt when legal.
std::optional<std::string> transition_error(State from, State to);

}  // namespace incident
