#include "bot/state_machine.hpp"

namespace incident {

namespace {

bool is_active(State s) {
    return s == State::investigating || s == State::identified || s == State::monitoring;
}

}  // namespace

bool can_transition(State from, State to) {
    if (from == to) return false;
    if (from == State::closed || from == State::merged) return false;
    if (to == State::merged) return true;
    if (is_active(from)) return is_active(to) || to == State::resolved;
    if (from == State::resolved) return to == State::investigating || to == State::closed;
    return false;
}

std::optional<std::string> transition_error(State from, State to) {
    if (can_transition(from, to)) return std::nullopt;
    const std::string target(to_string(to));
    if (from == to) return "The incident is already " + target + ".";
    if (from == State::closed) return "The incident is closed; closed incidents cannot change.";
    if (from == State::merged) {
        return "The incident was merged into another one; work on the primary incident instead.";
    }
    if (from == State::resolved) {
        return "The incident is resolved: `/incident reopen` brings it back to investigating, "
               "`/incident close` closes it.";
    }
    if (to == State::closed) {
        return "Only a resolved incident can be closed: resolve it first with "
               "`/incident resolve`.";
    }
    return "Cannot go from " + std::string(to_string(from)) + " to " + target + ".";
}

}  // namespace incident
