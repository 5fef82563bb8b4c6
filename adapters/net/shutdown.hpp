#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace incident::net {

class WebSocketClient;

// Polls `done` every 5 ms until it holds or `deadline` passes; false when the deadline came
// first. For the steps of a graceful shutdown, which share one deadline.
boost::asio::awaitable<bool> poll_until(boost::asio::any_io_executor executor,
                                        std::chrono::steady_clock::time_point deadline,
                                        std::function<bool()> done);

// Closes `socket` with a close frame (1000, "shutting down") and waits for the close
// handshake until `deadline`; drops the connection if it is still open then.
boost::asio::awaitable<void> close_for_shutdown(boost::asio::any_io_executor executor,
                                                std::shared_ptr<WebSocketClient> socket,
                                                std::chrono::steady_clock::time_point deadline);

}  // namespace incident::net
