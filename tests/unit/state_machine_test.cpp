#include <doctest/doctest.h>

#include <set>
#include <utility>

#include "bot/state_machine.hpp"

using namespace incident;

TEST_CASE("every transition is either legal by the table or refused with a reason") {
    const State all[] = {State::investigating, State::identified, State::monitoring,
                         State::resolved,      State::closed,     State::merged};
    const std::set<std::pair<State, State>> legal{
        {State::investigating, State::identified}, {State::investigating, State::monitoring},
        {State::investigating, State::resolved},   {State::investigating, State::merged},
        {State::identified, State::investigating}, {State::identified, State::monitoring},
        {State::identified, State::resolved},      {State::identified, State::merged},
        {State::monitoring, State::investigating}, {State::monitoring, State::identified},
        {State::monitoring, State::resolved},      {State::monitoring, State::merged},
        {State::resolved, State::investigating},   {State::resolved, State::closed},
        {State::resolved, State::merged},
    };
    for (const State from : all) {
        for (const State to : all) {
            CAPTURE(to_string(from));
            CAPTURE(to_string(to));
            const bool expected = legal.count({from, to}) == 1;
            CHECK(can_transition(from, to) == expected);
            CHECK(transition_error(from, to).has_value() == !expected);
        }
    }
}

TEST_CASE("refusals say what to do instead") {
    CHECK(transition_error(State::investigating, State::closed)->find("resolve it first") !=
          std::string::npos);
    CHECK(transition_error(State::resolved, State::monitoring)->find("/incident reopen") !=
          std::string::npos);
    CHECK(transition_error(State::identified, State::identified)->find("already identified") !=
          std::string::npos);
    CHECK(transition_error(State::closed, State::investigating)->find("closed") !=
          std::string::npos);
    CHECK(transition_error(State::merged, State::resolved)->find("primary") != std::string::npos);
}
