#pragma once

#include <exception>
#include <string>

namespace incident::net {

// Completion handler for co_spawn of a long-running loop (a worker, a connection loop): an
// exception that ends it is logged as "<what> stopped: <reason>", never lost.
struct LogStopped {
    std::string what;
    void operator()(std::exception_ptr error) const;
};

}  // namespace incident::net
