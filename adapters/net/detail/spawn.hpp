#pragma once

#include <exception>
#include <string>

namespace incident::net::detail {

// Completion handler for co_spawn: a coroutine that ends in an exception is logged,
// never silently dropped as with asio::detached.
struct LogExceptions {
    std::string what;
    void operator()(std::exception_ptr error) const;
};

}  // namespace incident::net::detail
