#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>

#include "free_port.hpp"

namespace incident::net::testing {

// Runs `body` on `io` until it finishes or `limit` passes, then stops the io_context
// (other coroutines stay suspended and are destroyed with it). Rethrows what the body
// threw; false when the limit passed first.
bool run_async(boost::asio::io_context& io, std::function<boost::asio::awaitable<void>()> body,
               std::chrono::milliseconds limit = std::chrono::seconds(20));

// Suspends for `duration`.
boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds duration);

using incident::testing::free_port;

// Polls `condition` every few milliseconds; false when `limit` passed first.
boost::asio::awaitable<bool> wait_until(std::function<bool()> condition,
                                        std::chrono::milliseconds limit);

}  // namespace incident::net::testing
