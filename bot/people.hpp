#pragma once

#include <string>

#include "bot/types.hpp"

namespace incident {

// How the bot's text names a person: "@name", the platform id when there is no name, and a
// system actor ("alertmanager") by its name alone. Apart from types.hpp, which every file
// includes, so that adding it rebuilt only its users.
std::string mention(const Actor& who);
// Whether `named` (a role holder, an owner as typed: "@carol" keeps the name as its id) is
// `who`: the same platform id, or the same display name in any case.
bool same_person(const Actor& named, const Actor& who);

}  // namespace incident
