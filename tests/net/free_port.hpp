#pragma once

#include <cstdint>

namespace incident::testing {

// A loopback TCP port that nothing is bound to right now, for a server the test starts
// itself (a child process, PostgreSQL, a fake). It is drawn at random from below the
// kernel's ephemeral range: a port from that range can be taken meanwhile by any outgoing
// connection of a busy test run, which is how a PostgreSQL start once found its port in use.
std::uint16_t free_port();

}  // namespace incident::testing
